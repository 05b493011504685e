#include "instance/state_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/error.hpp"
#include "temp_dir.hpp"

namespace mdevrun {
namespace {

namespace fs = std::filesystem;

TEST(StateFile, RoundTripsEveryField) {
  testing::TempDir tmp;
  InstanceState s;
  s.name = "desk";
  s.profile = "/home/u/vms/desk.json";
  s.supervisor_pid = 1234;
  s.started_at = 1700000000;
  s.mdevs = {
      {"gpu0", "4dd50f26-ec08-11e8-b838-4bc3356865b6", "0000:00:02.0", "i915-GVTg_V4_4", true},
      {"tty0", "8a6b1f4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b", "mtty", "mtty-1", false}};
  s.sockets = {{"qmp", "/run/mdevrun/desk/qmp.sock"}};
  ResolvedSlice vf{
      .id = "vf0", .mechanism = SliceMechanism::nvidia_vgpu, .address = "0000:41:00.4"};
  vf.pf = "0000:41:00.0";
  vf.vf_index = 0;
  vf.driver = "nvidia";
  vf.iommu_group = 44;
  vf.vgpu_type = 1148;
  vf.vgpu_name = "NVIDIA L40S-2Q";
  vf.exists = true;
  ResolvedSlice nic{.id = "nic", .mechanism = SliceMechanism::pci, .address = "0000:00:19.0"};
  nic.exists = true;
  s.slices = {vf, nic};
  const fs::path path = tmp.path() / "state.json";
  save_state(path, s);
  EXPECT_EQ(load_state(path), s);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
  s.qemu_pid = 99;
  save_state(path, s);  // replaces atomically
  EXPECT_EQ(load_state(path)->qemu_pid, 99);
}

TEST(StateFile, AMissingFileIsNone) {
  testing::TempDir tmp;
  EXPECT_EQ(load_state(tmp.path() / "state.json"), std::nullopt);
}

TEST(StateFile, ADamagedFileIsAnErrorNamingIt) {
  testing::TempDir tmp;
  const fs::path path = tmp.path() / "state.json";
  std::ofstream(path) << "{\"name\": ";
  try {
    load_state(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failure);
    EXPECT_EQ(std::string(e.what()).rfind("state file " + path.string() + " is damaged (", 0), 0u)
        << e.what();
  }
}

TEST(StateFile, AnUnwritableFolderIsAnErrorAndLeavesNoTempFile) {
  testing::TempDir tmp;
  const fs::path path = tmp.path() / "missing" / "state.json";
  try {
    save_state(path, InstanceState{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot write state file " + path.string() + " (create): No such file or directory");
  }
}

}  // namespace
}  // namespace mdevrun
