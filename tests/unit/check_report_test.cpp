#include "check_report.hpp"

#include <gtest/gtest.h>

namespace mdevrun {
namespace {

const std::vector<CheckResult> kResults = {
    {Verdict::pass, "/dev/kvm is accessible", {}, {}},
    {Verdict::warn, "kernel command line", "intel_iommu=on is missing", "add it"},
    {Verdict::fail, "module kvmgt", "not loaded", "sudo modprobe kvmgt"},
};

TEST(CheckReport, OneLinePerResultWithItsFix) {
  EXPECT_EQ(format_check_lines(kResults),
            "PASS  /dev/kvm is accessible\n"
            "WARN  kernel command line: intel_iommu=on is missing. Fix: add it\n"
            "FAIL  module kvmgt: not loaded. Fix: sudo modprobe kvmgt\n");
}

TEST(CheckReport, WorstVerdict) {
  EXPECT_EQ(worst_verdict({}), Verdict::pass);
  EXPECT_EQ(worst_verdict({kResults[0], kResults[1]}), Verdict::warn);
  EXPECT_EQ(worst_verdict(kResults), Verdict::fail);
}

TEST(CheckReport, Json) {
  EXPECT_EQ(check_json(kResults), nlohmann::json::parse(R"({"result": "fail", "checks": [
    {"result": "pass", "check": "/dev/kvm is accessible"},
    {"result": "warn", "check": "kernel command line", "why": "intel_iommu=on is missing",
     "fix": "add it"},
    {"result": "fail", "check": "module kvmgt", "why": "not loaded", "fix": "sudo modprobe kvmgt"}
  ]})"));
}

}  // namespace
}  // namespace mdevrun
