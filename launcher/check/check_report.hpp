#pragma once
// The verdicts of `mdevrun check`: one result per checked item, printed as one line each
// ("PASS  title: detail", "WARN  title: why. Fix: step", "FAIL  ...") or as JSON, and the worst
// verdict.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mdevrun {

enum class Verdict { pass, warn, fail };  ///< ordered: a later value is worse

struct CheckResult {
  Verdict verdict = Verdict::pass;
  /// Stable id ("qemu", "module:vfio", "mdev:gpu0", "file:/disks/0/file"): fixed per check,
  /// whatever was found and whatever the verdict, and unique within one run, so scripts can key
  /// on it.
  std::string check;
  std::string title;   ///< the item checked, for people ("qemu", "module vfio")
  std::string detail;  ///< what was found ("qemu-system-x86_64 7.2.22"); may be empty
  std::string why;     ///< warn/fail: what is wrong
  std::string fix;     ///< warn/fail: the command or step that fixes it
};

/// "PASS", "WARN" or "FAIL".
const char* verdict_name(Verdict verdict);

/// The worst verdict of `results`; pass when empty.
Verdict worst_verdict(const std::vector<CheckResult>& results);

/// One result without its verdict: "title[: detail][: why][. Fix: fix]".
std::string format_check_text(const CheckResult& result);

/// One line per result: its verdict, two spaces, format_check_text.
std::string format_check_lines(const std::vector<CheckResult>& results);

/// {"result": "pass"|"warn"|"fail", "checks": [{"check": id, "result", "detail", "why"?,
/// "fix"?}, ...]}: `detail` always (maybe ""), `why` and `fix` when not empty.
nlohmann::json check_json(const std::vector<CheckResult>& results);

}  // namespace mdevrun
