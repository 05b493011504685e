#include <gtest/gtest.h>

#include "profile.hpp"

TEST(Profile, Defaults) { EXPECT_EQ(mdevrun::Profile{}.machine.type, "q35"); }
