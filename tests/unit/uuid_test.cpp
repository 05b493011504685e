#include "base/uuid.hpp"

#include <gtest/gtest.h>

namespace mdevrun {

TEST(Uuid, AcceptsOnlyTheCanonicalForm) {
  EXPECT_TRUE(is_uuid("4dd50f26-ec08-11e8-b838-4bc3356865b6"));
  EXPECT_TRUE(is_uuid("4DD50F26-EC08-11E8-B838-4BC3356865B6"));
  EXPECT_FALSE(is_uuid("4dd50f26ec0811e8b8384bc3356865b6"));
  EXPECT_FALSE(is_uuid("4dd50f26-ec08-11e8-b838-4bc3356865b"));
  EXPECT_FALSE(is_uuid("4dd50f26-ec08-11e8-b838-4bc3356865bg"));
  EXPECT_FALSE(is_uuid("../../../../etc/passwd-0000000000000"));
}

TEST(Uuid, NormalizesToLowerCase) {
  EXPECT_EQ(normalize_uuid("4DD50F26-EC08-11E8-B838-4BC3356865B6"),
            "4dd50f26-ec08-11e8-b838-4bc3356865b6");
  EXPECT_EQ(normalize_uuid("nope"), std::nullopt);
}

TEST(Uuid, DerivedUuidIsStableVersion5) {
  const std::string a = derive_mdev_uuid("dev-vm", "gpu0");
  EXPECT_EQ(a, derive_mdev_uuid("dev-vm", "gpu0"));
  EXPECT_NE(a, derive_mdev_uuid("dev-vm", "gpu1"));
  EXPECT_NE(a, derive_mdev_uuid("dev-vm2", "gpu0"));
  EXPECT_TRUE(is_uuid(a));
  EXPECT_EQ(a[14], '5');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
}

}  // namespace mdevrun

namespace mdevrun {
// Cross-checked with Python: uuid.uuid5(UUID('6f1d3c52-8e4b-4c1e-9a57-2d0b61c37e94'),
// 'dev-vm/gpu0').
TEST(Uuid, DerivedUuidMatchesRfc4122) {
  EXPECT_EQ(derive_mdev_uuid("dev-vm", "gpu0"), "5aa556c3-80f1-56fe-be16-82a0710b1a8c");
}
}  // namespace mdevrun
