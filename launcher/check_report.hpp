#pragma once
// The verdicts of `mdevrun check`: one result per checked item, printed as one line each
// ("PASS  what", "WARN  what: why. Fix: step", "FAIL  ...") or as JSON, and the worst verdict.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mdevrun {

enum class Verdict { pass, warn, fail };  ///< ordered: a later value is worse

struct CheckResult {
  Verdict verdict = Verdict::pass;
  std::string what;  ///< the item checked, with what was found ("qemu-system-x86_64 7.2.22")
  std::string why;   ///< warn/fail: what is wrong
  std::string fix;   ///< warn/fail: the command or step that fixes it
};

/// "PASS", "WARN" or "FAIL".
const char* verdict_name(Verdict verdict);

/// The worst verdict of `results`; pass when empty.
Verdict worst_verdict(const std::vector<CheckResult>& results);

/// One line per result: "PASS  what" or "FAIL  what: why. Fix: fix".
std::string format_check_lines(const std::vector<CheckResult>& results);

/// {"result": "pass"|"warn"|"fail", "checks": [{"result", "check", "why"?, "fix"?}, ...]}.
nlohmann::json check_json(const std::vector<CheckResult>& results);

}  // namespace mdevrun
