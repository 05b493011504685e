// The files a profile makes qemu open: each missing or unopenable one FAILs, naming the profile
// field and the file, with a fix; the rest PASS.

#include "check/profile_files.hpp"

#include <gmock/gmock.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "temp_dir.hpp"

namespace mdevrun::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ProfileFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    profile_.file = dir_.path() / "vm.json";
  }

  fs::path touch(const std::string& name) {
    const fs::path path = dir_.path() / name;
    std::ofstream(path) << "x";
    return path;
  }
  DiskSpec disk(const std::string& name, const std::string& format = "qcow2") {
    DiskSpec d;
    d.file = dir_.path() / name;
    d.format = format;
    return d;
  }

  // Denies what denied_ lists: (path, R_OK or W_OK).
  std::vector<CheckResult> run() {
    return check_profile_files(profile_, [this](const fs::path& path, int mode) {
      for (int bit : {R_OK, W_OK})
        if ((mode & bit) && denied_.count({path, bit})) return false;
      return true;
    });
  }
  static std::string lines(const std::vector<CheckResult>& results) {
    return format_check_lines(results);
  }
  // The lines joined, with $D the temp folder and $P the profile file.
  std::string expand(const std::vector<std::string>& expected) const {
    std::string out;
    for (const auto& line : expected) {
      std::string l = line;
      for (const auto& [key, value] :
           {std::pair<std::string, std::string>{"$D", dir_.path()}, {"$P", profile_.file}})
        for (auto at = l.find(key); at != std::string::npos; at = l.find(key, at + value.size()))
          l.replace(at, key.size(), value);
      out += l + "\n";
    }
    return out;
  }

  TempDir dir_;
  Profile profile_;
  std::set<std::pair<fs::path, int>> denied_;
};

TEST_F(ProfileFilesTest, EachMissingFileFailsNamingItsFieldAndTheFile) {
  touch("present.qcow2");
  DiskSpec snap = disk("snap.raw", "raw");
  snap.snapshot = true;
  DiskSpec iso = disk("install.iso", "raw");
  iso.read_only = true;
  profile_.disks = {disk("present.qcow2"), disk("rootfs.qcow2"), snap, iso};
  profile_.kernel = KernelSpec{dir_.path() / "vmlinuz", dir_.path() / "initrd.img", {}};
  profile_.firmware = {
      FirmwareType::uefi, dir_.path() / "OVMF_CODE.fd", dir_.path() / "OVMF_VARS.fd", {}};
  EXPECT_EQ(
      lines(run()),
      expand({
          "PASS  disks[0].file: $D/present.qcow2",
          "FAIL  disks[1].file: $D/rootfs.qcow2: does not exist. Fix: create it (qemu-img create "
          "-f qcow2 $D/rootfs.qcow2 20G) or fix \"file\" in $P",
          // A snapshot disk still needs its image.
          "FAIL  disks[2].file: $D/snap.raw: does not exist. Fix: create it (qemu-img create -f "
          "raw $D/snap.raw 20G) or fix \"file\" in $P",
          "FAIL  disks[3].file: $D/install.iso: does not exist. Fix: put the image there, or fix "
          "\"file\" in $P",
          "FAIL  kernel.image: $D/vmlinuz: does not exist. Fix: put the kernel image there, or fix "
          "\"image\" in $P",
          "FAIL  kernel.initrd: $D/initrd.img: does not exist. Fix: put the initrd there, or fix "
          "\"initrd\" in $P",
          "FAIL  firmware.code: $D/OVMF_CODE.fd: does not exist. Fix: install OVMF (Debian/Ubuntu: "
          "ovmf; Fedora, Arch: edk2-ovmf), or set \"code\" in $P to an OVMF code file",
          "FAIL  firmware.vars-template: $D/OVMF_VARS.fd: does not exist. Fix: install OVMF "
          "(Debian/Ubuntu: ovmf; Fedora, Arch: edk2-ovmf), or set \"vars-template\" in $P to an "
          "OVMF vars file",
      }));
}

TEST_F(ProfileFilesTest, IdsAreTheFieldsJsonPointers) {
  profile_.disks = {disk("a.qcow2"), disk("b.qcow2")};
  profile_.kernel = KernelSpec{touch("vmlinuz"), touch("initrd"), {}};
  profile_.firmware = {FirmwareType::uefi, touch("code.fd"), {}, touch("vars.fd")};
  std::vector<std::string> ids;
  for (const auto& r : run()) ids.push_back(r.check);
  EXPECT_EQ(ids, (std::vector<std::string>{"file:/disks/0/file", "file:/disks/1/file",
                                           "file:/kernel/image", "file:/kernel/initrd",
                                           "file:/firmware/code", "file:/firmware/vars"}));
}

TEST_F(ProfileFilesTest, UnreadableFilesFailAndWrittenOnesNeedWriteAccess) {
  const fs::path rw = touch("rw.qcow2"), snap = touch("snap.qcow2"), ro = touch("ro.iso"),
                 kernel = touch("vmlinuz"), vars = touch("vars.fd");
  profile_.disks = {disk("rw.qcow2"), disk("snap.qcow2"), disk("ro.iso", "raw")};
  profile_.disks[1].snapshot = true;
  profile_.disks[2].read_only = true;
  profile_.kernel = KernelSpec{kernel, {}, {}};
  profile_.firmware = {FirmwareType::uefi, touch("code.fd"), {}, vars};
  for (const auto& p : {rw, snap, ro, vars}) denied_.insert({p, W_OK});
  const auto only_write_denied = run();
  // qemu writes the plain disk and the vars in place; a snapshot or read-only disk is only read.
  EXPECT_EQ(worst_verdict({only_write_denied[1], only_write_denied[2], only_write_denied[3]}),
            Verdict::pass)
      << lines(only_write_denied);
  EXPECT_EQ(format_check_text(only_write_denied[0]),
            "disks[0].file: " + rw.string() +
                ": this user cannot write it (qemu opens it read-write). Fix: give this user write "
                "access (ls -l " +
                rw.string() + "), or set \"snapshot\": true on the disk in " +
                profile_.file.string());
  EXPECT_EQ(format_check_text(only_write_denied[5]),
            "firmware.vars: " + vars.string() +
                ": this user cannot write it (qemu opens it read-write). Fix: give this user write "
                "access (ls -l " +
                vars.string() + "), or use \"vars-template\" instead of \"vars\" in " +
                profile_.file.string());

  denied_.insert({kernel, R_OK});
  EXPECT_EQ(format_check_text(run()[3]),
            "kernel.image: " + kernel.string() +
                ": this user cannot read it. Fix: give this user read access (ls -l " +
                kernel.string() + ")");
}

TEST_F(ProfileFilesTest, ADirectoryIsNotADisk) {
  fs::create_directory(dir_.path() / "images");
  profile_.disks = {disk("images", "raw")};
  EXPECT_THAT(lines(run()), HasSubstr("FAIL  disks[0].file: " + (dir_.path() / "images").string() +
                                      ": is a directory, not a file. Fix: fix \"file\" in "));
}

TEST_F(ProfileFilesTest, ACdromIsAFileAndAShareSourceAFolder) {
  profile_.cdrom = touch("install.iso");
  fs::create_directory(dir_.path() / "work");
  profile_.shares = {{dir_.path() / "work", "work", false},
                     {touch("file"), "f", false},
                     {dir_.path() / "gone", "g", true}};
  const std::string out = lines(run());
  EXPECT_THAT(out, HasSubstr("PASS  cdrom: " + (dir_.path() / "install.iso").string()));
  EXPECT_THAT(out, HasSubstr("PASS  shares[0].source: " + (dir_.path() / "work").string()));
  EXPECT_THAT(out, HasSubstr("FAIL  shares[1].source: " + (dir_.path() / "file").string() +
                             ": is not a directory"));
  EXPECT_THAT(out, HasSubstr("FAIL  shares[2].source: " + (dir_.path() / "gone").string() +
                             ": does not exist. Fix: create the folder (mkdir -p "));
}

TEST_F(ProfileFilesTest, NoFilesNoResults) {
  EXPECT_TRUE(run().empty());
  profile_.firmware.type = FirmwareType::bios;
  EXPECT_TRUE(run().empty());
}

}  // namespace
}  // namespace mdevrun::testing
