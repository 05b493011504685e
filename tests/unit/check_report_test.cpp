#include "check/check_report.hpp"

#include <gtest/gtest.h>

namespace mdevrun {
namespace {

const std::vector<CheckResult> kResults = {
    {Verdict::pass, "kvm", "/dev/kvm", "accessible", {}, {}},
    {Verdict::warn,
     "kernel-cmdline",
     "kernel command line",
     {},
     "intel_iommu=on is missing",
     "add it"},
    {Verdict::fail, "qemu", "qemu", "qemu-system-x86_64 3.0.0", "too old", "install a newer one"},
};

TEST(CheckReport, OneLinePerResultWithItsFix) {
  EXPECT_EQ(format_check_lines(kResults),
            "PASS  /dev/kvm: accessible\n"
            "WARN  kernel command line: intel_iommu=on is missing. Fix: add it\n"
            "FAIL  qemu: qemu-system-x86_64 3.0.0: too old. Fix: install a newer one\n");
}

TEST(CheckReport, WorstVerdict) {
  EXPECT_EQ(worst_verdict({}), Verdict::pass);
  EXPECT_EQ(worst_verdict({kResults[0], kResults[1]}), Verdict::warn);
  EXPECT_EQ(worst_verdict(kResults), Verdict::fail);
}

// The id is the key and the detail a separate field, so a script need not parse the title.
TEST(CheckReport, JsonCarriesTheIdAndTheDetailApart) {
  EXPECT_EQ(check_json(kResults), nlohmann::json::parse(R"({"result": "fail", "checks": [
    {"check": "kvm", "result": "pass", "detail": "accessible"},
    {"check": "kernel-cmdline", "result": "warn", "detail": "", "why": "intel_iommu=on is missing",
     "fix": "add it"},
    {"check": "qemu", "result": "fail", "detail": "qemu-system-x86_64 3.0.0", "why": "too old",
     "fix": "install a newer one"}
  ]})"));
}

}  // namespace
}  // namespace mdevrun
