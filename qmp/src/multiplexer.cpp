#include "qmp/multiplexer.hpp"

#include "text.hpp"

namespace qmp {
namespace {

constexpr json::error_handler_t replace = json::error_handler_t::replace;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

json greeting_json(const greeting& g) {
  return {{"QMP",
           {{"version",
             {{"qemu", {{"micro", g.micro}, {"minor", g.minor}, {"major", g.major}}},
              {"package", g.package}}},
            {"capabilities", json::array()}}}};
}

}  // namespace

multiplexer::multiplexer(greeting upstream, multiplexer_config cfg)
    : cfg_(cfg), greeting_line_(greeting_json(upstream).dump(-1, ' ', false, replace) + "\n") {}

multiplexer::client_id multiplexer::add_client() {
  const client_id c = next_client_++;
  clients_[c].out = greeting_line_;
  return c;
}

void multiplexer::remove_client(client_id c) {
  clients_.erase(c);
}

bool multiplexer::wants_input(client_id c) const {
  auto it = clients_.find(c);
  return it != clients_.end() && it->second.in_flight < cfg_.max_in_flight;
}

std::string multiplexer::take_output_bytes(client_id c) {
  auto it = clients_.find(c);
  return it == clients_.end() ? std::string() : std::exchange(it->second.out, {});
}

bool multiplexer::has_output_bytes(client_id c) const {
  auto it = clients_.find(c);
  return it != clients_.end() && !it->second.out.empty();
}

bool multiplexer::idle(client_id c) const {
  auto it = clients_.find(c);
  return it == clients_.end() || (it->second.in_flight == 0 && it->second.out.empty());
}

std::optional<multiplexer::output> multiplexer::next_output() {
  if (outputs_.empty()) return std::nullopt;
  output o = std::move(outputs_.front());
  outputs_.pop_front();
  return o;
}

void multiplexer::drop(client_id c, std::string reason) {
  if (clients_.erase(c) == 0) return;
  outputs_.push_back(dropped{c, std::move(reason)});
}

void multiplexer::queue(client_id c, const json& msg) {
  auto it = clients_.find(c);
  if (it == clients_.end()) return;
  std::string& out = it->second.out;
  out += msg.dump(-1, ' ', false, replace);
  out += '\n';
  if (out.size() > cfg_.max_output_bytes)
    drop(c, "more than " + std::to_string(cfg_.max_output_bytes) +
                " bytes queued for it (it does not read its replies and events)");
}

void multiplexer::queue_error(client_id c, const std::optional<json>& id, std::string_view cls,
                              std::string desc) {
  json msg = {{"error", {{"class", cls}, {"desc", std::move(desc)}}}};
  if (id) msg["id"] = *id;
  queue(c, msg);
}

void multiplexer::feed(client_id c, std::string_view bytes) {
  auto it = clients_.find(c);
  if (it == clients_.end()) return;
  it->second.in.append(bytes);
  pump(c);
}

void multiplexer::pump(client_id c) {
  for (;;) {
    auto it = clients_.find(c);
    if (it == clients_.end()) return;
    client_state& s = it->second;
    if (s.in_flight >= cfg_.max_in_flight) return;
    scan_result r = next_value(s);
    if (r.kind == scan_result::none) return;
    if (r.kind == scan_result::error) {
      queue_error(c, std::nullopt, "GenericError", std::move(r.text));
    } else {
      handle_value(c, r.text);
    }
  }
}

// Splits the stream into JSON values the way qemu's json-streamer does: brackets outside strings
// are counted, a value ends when they balance. Anything else at top level is one token up to the
// next blank or bracket. Consumed bytes are erased from the buffer.
multiplexer::scan_result multiplexer::next_value(client_state& s) const {
  std::string& in = s.in;
  const auto consume = [&](std::size_t end) {
    std::string v = in.substr(0, end);
    in.erase(0, end);
    s.scanned = 0;
    s.depth = 0;
    s.in_string = s.escaped = false;
    return v;
  };
  const auto resync = [&](std::string why) {
    consume(in.size() < s.scanned ? in.size() : s.scanned);
    s.skip_to_newline = true;
    return scan_result{scan_result::error, std::move(why)};
  };
  if (s.skip_to_newline) {
    const std::size_t nl = in.find('\n');
    if (nl == std::string::npos) {
      in.clear();
      s.scanned = 0;
      return {};
    }
    in.erase(0, nl + 1);
    s.skip_to_newline = false;
    s.scanned = 0;
  }
  if (s.depth == 0) {
    std::size_t first = 0;
    while (first < in.size() && is_space(in[first])) ++first;
    in.erase(0, first);
    s.scanned = 0;
    if (in.empty()) return {};
    if (in[0] != '{' && in[0] != '[') {
      // A top-level scalar or stray byte: one token, ended by a blank or a bracket (a string: by
      // its closing quote or a newline).
      std::size_t end = 1;
      bool complete = false;
      if (in[0] == '"') {
        bool esc = false;
        while (end < in.size() && !complete) {
          const char ch = in[end];
          if (ch == '\n') {
            complete = true;
            break;
          }
          ++end;
          if (esc) {
            esc = false;
          } else if (ch == '\\') {
            esc = true;
          } else if (ch == '"') {
            complete = true;
          }
        }
      } else {
        while (end < in.size() && !is_space(in[end]) && in[end] != '{' && in[end] != '[') ++end;
        complete = end < in.size();  // a token at the very end may still grow ("tru" + "e")
      }
      if (!complete && in.size() <= cfg_.max_message_size) return {};
      return {scan_result::value, consume(end)};
    }
  }
  std::size_t i = s.scanned;
  for (; i < in.size(); ++i) {
    const char ch = in[i];
    if (s.in_string) {
      if (s.escaped) {
        s.escaped = false;
      } else if (ch == '\\') {
        s.escaped = true;
      } else if (ch == '"') {
        s.in_string = false;
      }
      continue;
    }
    if (ch == '"') {
      s.in_string = true;
    } else if (ch == '{' || ch == '[') {
      if (++s.depth > detail::max_nesting) {
        s.scanned = i + 1;
        return resync("JSON parse error, nesting deeper than " +
                      std::to_string(detail::max_nesting));
      }
    } else if (ch == '}' || ch == ']') {
      if (--s.depth == 0) return {scan_result::value, consume(i + 1)};
    }
  }
  s.scanned = i;
  if (in.size() > cfg_.max_message_size)
    return resync("JSON parse error, message longer than " + std::to_string(cfg_.max_message_size) +
                  " bytes");
  return {};
}

void multiplexer::handle_value(client_id c, std::string_view text) {
  const detail::line_scan scan = detail::scan_line(text);
  json msg = scan.valid_utf8 ? json::parse(text, nullptr, false)
                             : json::parse(detail::replace_invalid_utf8(text), nullptr, false);
  if (msg.is_discarded()) {
    queue_error(c, std::nullopt, "GenericError",
                "JSON parse error, invalid JSON '" + detail::excerpt(text, 40) + "'");
    return;
  }
  if (!msg.is_object()) {
    queue_error(c, std::nullopt, "GenericError", "QMP input must be a JSON object");
    return;
  }
  handle_command(c, std::move(msg));
}

void multiplexer::handle_command(client_id c, json&& msg) {
  std::optional<json> id;
  if (auto it = msg.find("id"); it != msg.end()) id = *it;
  const json* execute = nullptr;
  const json* arguments = nullptr;
  for (auto it = msg.begin(); it != msg.end(); ++it) {
    if (it.key() == "execute") {
      if (!it->is_string())
        return queue_error(c, id, "GenericError", "QMP input member 'execute' must be a string");
      execute = &*it;
    } else if (it.key() == "arguments") {
      if (!it->is_object())
        return queue_error(c, id, "GenericError", "QMP input member 'arguments' must be an object");
      arguments = &*it;
    } else if (it.key() != "id") {
      // exec-oob included: no client is offered oob.
      return queue_error(c, id, "GenericError",
                         "QMP input member '" + it.key() + "' is unexpected");
    }
  }
  if (!execute) return queue_error(c, id, "GenericError", "QMP input lacks member 'execute'");
  const std::string& command = execute->get_ref<const std::string&>();
  client_state& s = clients_.at(c);
  if (!s.negotiated) {
    if (command != "qmp_capabilities")
      return queue_error(c, id, "CommandNotFound",
                         "Expecting capabilities negotiation with 'qmp_capabilities'");
    if (arguments) {
      for (auto it = arguments->begin(); it != arguments->end(); ++it) {
        if (it.key() != "enable")
          return queue_error(c, id, "GenericError", "Parameter '" + it.key() + "' is unexpected");
        if (!it->is_array())
          return queue_error(c, id, "GenericError",
                             "Invalid parameter type for 'enable', "
                             "expected: array");
        for (const auto& cap : *it) {
          if (cap == "oob")
            return queue_error(c, id, "GenericError", "Capability oob not available");
          return queue_error(
              c, id, "GenericError",
              "Parameter 'enable' does not accept value " + cap.dump(-1, ' ', false, replace));
        }
      }
    }
    s.negotiated = true;
    json ok = {{"return", json::object()}};
    if (id) ok["id"] = *id;
    return queue(c, ok);
  }
  if (command == "qmp_capabilities")
    return queue_error(c, id, "CommandNotFound",
                       "Capabilities negotiation is already complete, command ignored");
  const token tok = next_token_++;
  pending_.emplace(tok, pending_call{c, std::move(id)});
  ++s.in_flight;
  outputs_.push_back(forward{c, tok, command, arguments ? *arguments : json()});
}

bool multiplexer::reply(token tok, const qmp::reply& r) {
  auto p = pending_.find(tok);
  if (p == pending_.end()) return false;
  const pending_call call = std::move(p->second);
  pending_.erase(p);
  auto it = clients_.find(call.client);
  if (it == clients_.end()) return true;  // gone: the answer has no one to go to
  --it->second.in_flight;
  json msg;
  if (r.error) {
    msg["error"] = {{"class", r.error->cls}, {"desc", r.error->desc}};
  } else {
    msg["return"] = r.value.is_null() ? json::object() : r.value;
  }
  if (call.id) msg["id"] = *call.id;
  queue(call.client, msg);
  pump(call.client);  // input waiting behind the in-flight bound
  return true;
}

void multiplexer::event(const qmp::event& e) {
  const std::string line = e.to_json().dump(-1, ' ', false, replace) + "\n";
  for (auto it = clients_.begin(); it != clients_.end();) {
    const client_id c = it->first;
    client_state& s = it->second;
    ++it;  // drop() below erases c
    if (!s.negotiated) continue;
    s.out += line;
    if (s.out.size() > cfg_.max_output_bytes)
      drop(c, "more than " + std::to_string(cfg_.max_output_bytes) +
                  " bytes queued for it (it does not read its replies and events)");
  }
}

}  // namespace qmp
