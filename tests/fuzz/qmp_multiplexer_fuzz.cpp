// libFuzzer entry point for the client-facing side of the QMP multiplexer (qmp/multiplexer.hpp).
// The input is one client's bytes, fed in chunks whose sizes come from the first byte, so split
// reads are fuzzed too. Forwarded commands are answered at once (alternately a value and an
// error), an event goes out after each chunk, and a second, well-behaved client is negotiated
// beside the fuzzed one. Invariants checked: no crash; every byte queued for a client is whole
// JSON objects, one per line, each a greeting, reply, error or event; the other client only ever
// sees its own reply and events; tokens are never answered twice.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "qmp/multiplexer.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_lines(const std::string& bytes) {
  std::size_t start = 0;
  for (std::size_t nl; (nl = bytes.find('\n', start)) != std::string::npos; start = nl + 1) {
    const qmp::json msg = qmp::json::parse(bytes.substr(start, nl - start), nullptr, false);
    check(msg.is_object());
    check(msg.contains("QMP") || msg.contains("return") || msg.contains("error") ||
          msg.contains("event"));
  }
  check(start == bytes.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] == 0 ? size : data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  qmp::greeting g;
  g.major = 7;
  g.minor = 2;
  qmp::multiplexer mux(
      g, {.max_message_size = 4096, .max_output_bytes = 64 * 1024, .max_in_flight = 3});
  const auto fuzzed = mux.add_client();
  const auto other = mux.add_client();
  mux.feed(other, "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\",\"id\":7}");
  std::size_t replies = 0;
  qmp::event e;
  e.name = "RTC_CHANGE";

  const auto drain = [&] {
    while (auto out = mux.next_output()) {
      if (auto* f = std::get_if<qmp::multiplexer::forward>(&*out)) {
        qmp::reply r;
        if (replies++ % 2) {
          r.error = qmp::qmp_error{"GenericError", f->command};
        } else {
          r.value = f->arguments;
        }
        check(mux.reply(f->tok, r));
        check(!mux.reply(f->tok, r));
      }
    }
    check_lines(mux.take_output_bytes(fuzzed));
    const std::string theirs = mux.take_output_bytes(other);
    check_lines(theirs);
    check(theirs.find("\"id\":7") == std::string::npos ||
          theirs.find("\"id\":7") == theirs.rfind("\"id\":7"));
  };

  drain();
  while (!input.empty()) {
    const std::size_t n = std::min(chunk, input.size());
    mux.feed(fuzzed, input.substr(0, n));
    input.remove_prefix(n);
    drain();
    mux.event(e);
    drain();
  }
  check(mux.has_client(other));
  mux.remove_client(fuzzed);
  check(mux.pending_count() == 0);
  return 0;
}
