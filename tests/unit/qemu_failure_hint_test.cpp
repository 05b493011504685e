#include "qemu/qemu_failure_hint.hpp"

#include <gtest/gtest.h>

namespace mdevrun {

TEST(QemuFailureHint, BusyVfioGroupNamesTheHolder) {
  const auto hint = hint_for_qemu_failure(
      {"qemu-system-x86_64: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/x: vfio x: failed "
       "to open /dev/vfio/3: Device or resource busy"},
      [](int group) { return group == 3 ? "pid 42 (qemu-system-x86)" : ""; });
  EXPECT_EQ(hint,
            "the mdev's VFIO group 3 is in use by pid 42 (qemu-system-x86); stop that VM "
            "first, or give this profile another mdev (another uuid)");
}

TEST(QemuFailureHint, DmabufWithoutGl) {
  const auto hint = hint_for_qemu_failure(
      {"something else", "qemu-system-x86_64: vfio-display-dmabuf: opengl not available"}, {});
  ASSERT_TRUE(hint);
  EXPECT_NE(hint->find("needs OpenGL"), std::string::npos);
}

TEST(QemuFailureHint, VncDisplayTakenSaysHowToPickAnother) {
  const auto hint = hint_for_qemu_failure(
      {"qemu-system-x86_64: -display vnc=127.0.0.1:3: Failed to find an available port: Address "
       "already in use"},
      {});
  ASSERT_TRUE(hint);
  EXPECT_NE(hint->find("VNC display is taken"), std::string::npos) << *hint;
  EXPECT_NE(hint->find("display.listen"), std::string::npos) << *hint;
}

TEST(QemuFailureHint, UnknownFailureHasNoHint) {
  EXPECT_EQ(hint_for_qemu_failure({"qemu-system-x86_64: something new"}, {}), std::nullopt);
}

}  // namespace mdevrun
