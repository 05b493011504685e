#include "check/check_report.hpp"

#include "base/text.hpp"

#include <algorithm>

namespace mdevrun {
const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::warn:
      return "WARN";
    case Verdict::fail:
      return "FAIL";
    default:
      return "PASS";
  }
}

Verdict worst_verdict(const std::vector<CheckResult>& results) {
  Verdict worst = Verdict::pass;
  for (const auto& r : results) worst = std::max(worst, r.verdict);
  return worst;
}

std::string format_check_text(const CheckResult& r) {
  std::string out = r.title;
  if (!r.detail.empty()) out += ": " + r.detail;
  if (!r.why.empty()) out += ": " + r.why;
  if (!r.fix.empty()) out += ". Fix: " + r.fix;
  return out;
}

std::string format_check_lines(const std::vector<CheckResult>& results) {
  std::string out;
  for (const auto& r : results) {
    out += verdict_name(r.verdict);
    out += "  ";
    out += format_check_text(r);
    out += '\n';
  }
  return out;
}

nlohmann::json check_json(const std::vector<CheckResult>& results) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json item = {
        {"check", r.check}, {"result", lower(verdict_name(r.verdict))}, {"detail", r.detail}};
    if (!r.why.empty()) item["why"] = r.why;
    if (!r.fix.empty()) item["fix"] = r.fix;
    checks.push_back(std::move(item));
  }
  return {{"result", lower(verdict_name(worst_verdict(results)))}, {"checks", std::move(checks)}};
}

}  // namespace mdevrun
