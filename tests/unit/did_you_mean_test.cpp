#include "base/did_you_mean.hpp"

#include <gtest/gtest.h>

namespace mdevrun {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("mdpy-vga", "mdpy-vgaa"), 1u);
  EXPECT_EQ(edit_distance("Abc", "abc"), 1u);      // case-sensitive on its own
  EXPECT_EQ(edit_distance("strat", "start"), 1u);  // a swap of neighbours is one typo
  EXPECT_EQ(edit_distance("ca", "abc"), 3u);       // optimal string alignment, not Damerau
}

TEST(DidYouMean, PrefersACaseInsensitiveMatch) {
  const std::vector<std::string> types = {"i915-GVTg_V4_1", "i915-GVTg_V4_4", "i915-GVTg_V4_8"};
  EXPECT_EQ(did_you_mean("i915-gvtg_v4_4", types), "i915-GVTg_V4_4");
  EXPECT_EQ(did_you_mean("0000:00:0A.0", {"0000:00:02.0", "0000:00:0a.0"}), "0000:00:0a.0");
}

TEST(DidYouMean, SuggestsTheClosestNearMiss) {
  EXPECT_EQ(did_you_mean("mdpy-vgaa", {"mdpy-hd", "mdpy-vga", "mdpy-xga"}), "mdpy-vga");
  EXPECT_EQ(did_you_mean("memroy", {"machine", "memory", "mdevs"}), "memory");
  EXPECT_EQ(did_you_mean("mbochs_1", {"mbochs-1", "mbochs-2"}), "mbochs-1");  // tie: first wins
}

TEST(DidYouMean, StaysQuietWhenNothingIsClose) {
  EXPECT_EQ(did_you_mean("nvidia-63", {"mtty-1", "mtty-2"}), std::nullopt);
  EXPECT_EQ(did_you_mean("mtty-1", {"mtty-1", "mtty-2"}), std::nullopt);  // it is right
  EXPECT_EQ(did_you_mean("x", {}), std::nullopt);
  EXPECT_EQ(did_you_mean("ab", {"xy"}), std::nullopt);  // distance 2 > max(1, 2/3)
}

}  // namespace
}  // namespace mdevrun
