// libFuzzer entry point for the sans-I/O QMP session. The input is fed as the peer's bytes in
// chunks whose sizes come from the input itself, so split reads are fuzzed too. Whenever the
// session becomes ready it sends a few commands (so replies can match ids 2..4) and abandons one.
// Invariants checked: no crash, failure is the last output, replies only carry pending ids, and
// every reply value can be serialized (no invalid UTF-8 leaks out).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <unordered_set>

#include "qmp/session.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // First byte: chunk size for the feed (0 means all at once). Small limit: exercise overflow.
  const std::size_t chunk = data[0] == 0 ? size : data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t transcript_bytes = 0;
  // Its lowest bit also picks the matching: by order (the default) or by ids on the wire.
  qmp::session s(
      4096, [&](qmp::direction, std::string_view line) { transcript_bytes += line.size(); },
      /*ids_on_the_wire=*/(data[0] & 1) != 0);
  std::unordered_set<qmp::call_id> pending;
  bool failed = false;

  const auto drain = [&] {
    while (auto out = s.next_output()) {
      check(!failed);  // nothing after the failure
      // Outputs lag the state: a failure later in the same feed already shows in current_state().
      if (std::holds_alternative<qmp::session::ready_reached>(*out) &&
          s.current_state() == qmp::session::state::ready) {
        for (const char* cmd : {"query-status", "device_del", "stop"}) {
          pending.insert(s.send(cmd, cmd[0] == 'd' ? qmp::json{{"id", "x"}} : qmp::json()));
        }
        check(s.abandon(3));
        pending.erase(3);
      } else if (auto* r = std::get_if<qmp::session::reply_received>(&*out)) {
        check(pending.erase(r->id) == 1);
        (void)r->reply.value.dump();  // throws on invalid UTF-8: must not happen
      } else if (auto* e = std::get_if<qmp::session::event_received>(&*out)) {
        (void)e->event.to_json().dump();
      } else if (std::holds_alternative<qmp::session::failed>(*out)) {
        failed = true;
        check(s.current_state() == qmp::session::state::failed);
      }
    }
    (void)s.take_output_bytes();
  };

  while (!input.empty()) {
    const std::size_t n = std::min(chunk, input.size());
    s.feed(input.substr(0, n));
    input.remove_prefix(n);
    drain();
  }
  s.feed_eof();
  drain();
  check(failed);  // eof always ends the session
  return 0;
}
