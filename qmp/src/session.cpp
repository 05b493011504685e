#include "qmp/session.hpp"

#include <stdexcept>

#include "qmp/error.hpp"
#include "text.hpp"

namespace qmp {
namespace {

constexpr json::error_handler_t replace = json::error_handler_t::replace;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, replace);
}

std::optional<greeting> parse_greeting(const json& qmp) {
  if (!qmp.is_object()) return std::nullopt;
  greeting g;
  auto version = qmp.find("version");
  if (version == qmp.end() || !version->is_object()) return std::nullopt;
  auto qemu = version->find("qemu");
  if (qemu == version->end() || !qemu->is_object()) return std::nullopt;
  const auto number = [&](const char* key, int& out) {
    auto it = qemu->find(key);
    if (it == qemu->end() || !it->is_number_integer()) return false;
    out = it->get<int>();
    return true;
  };
  if (!number("major", g.major) || !number("minor", g.minor) || !number("micro", g.micro)) {
    return std::nullopt;
  }
  if (auto p = version->find("package"); p != version->end() && p->is_string()) {
    g.package = p->get<std::string>();
  }
  if (auto caps = qmp.find("capabilities"); caps != qmp.end() && caps->is_array()) {
    for (const auto& c : *caps) {
      if (c.is_string()) g.capabilities.push_back(c.get<std::string>());
    }
  }
  return g;
}

}  // namespace

session::session(std::size_t max_message_size, transcript_sink transcript, bool ids_on_the_wire)
    : max_message_size_(max_message_size),
      transcript_(std::move(transcript)),
      ids_on_the_wire_(ids_on_the_wire) {}

void session::note(std::string_view text) {
  if (transcript_) transcript_(direction::note, text);
}

void session::fail(boost::system::error_code code, std::string detail) {
  if (state_ == state::failed) return;
  state_ = state::failed;
  held_.clear();
  note(detail);
  read_buffer_.clear();
  read_buffer_.shrink_to_fit();
  scanned_ = 0;
  outputs_.push_back(failed{code, std::move(detail)});
}

void session::feed_eof(std::string_view detail) {
  if (state_ == state::failed) return;
  if (state_ == state::awaiting_greeting) {
    fail(error::no_greeting, "connection closed before the QMP greeting");
  } else {
    fail(error::disconnected, std::string(detail));
  }
}

void session::feed(std::string_view bytes) {
  if (state_ == state::failed) return;
  read_buffer_.append(bytes);
  std::size_t start = 0;  // first byte of the current line
  while (state_ != state::failed) {
    const std::size_t nl = read_buffer_.find('\n', std::max(start, scanned_));
    if (nl == std::string::npos) break;
    std::string_view line(read_buffer_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_message_size_) {
      fail(error::message_too_large, "message of " + std::to_string(line.size()) +
                                         " bytes exceeds the limit of " +
                                         std::to_string(max_message_size_));
      return;
    }
    handle_line(line);
    start = nl + 1;
    scanned_ = start;
  }
  if (state_ == state::failed) return;
  read_buffer_.erase(0, start);
  scanned_ = read_buffer_.size();
  if (read_buffer_.size() > max_message_size_ + 1) {  // + 1: a trailing '\r' of a full-size line
    fail(error::message_too_large,
         "message exceeds the limit of " + std::to_string(max_message_size_) + " bytes");
  }
}

void session::handle_line(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank line
  if (transcript_) transcript_(direction::in, line);
  const detail::line_scan scan = detail::scan_line(line);
  if (scan.too_deep) {
    fail(error::protocol_error, "message nests deeper than " + std::to_string(detail::max_nesting));
    return;
  }
  json msg;
  if (scan.valid_utf8) {
    msg = json::parse(line, nullptr, false);
  } else {
    note("invalid UTF-8 in message replaced by U+FFFD");
    msg = json::parse(detail::replace_invalid_utf8(line), nullptr, false);
  }
  if (msg.is_discarded()) {
    fail(error::protocol_error, "invalid JSON from qemu: " + detail::excerpt(line));
    return;
  }
  handle_message(std::move(msg));
}

void session::handle_message(json&& msg) {
  if (!msg.is_object()) {
    fail(error::protocol_error, "message is not a JSON object: " + detail::excerpt(dump(msg)));
    return;
  }
  auto qmp_member = msg.find("QMP");
  if (state_ == state::awaiting_greeting) {
    std::optional<greeting> g;
    if (qmp_member != msg.end()) g = parse_greeting(*qmp_member);
    if (!g) {
      fail(error::no_greeting, "expected the QMP greeting, got: " + detail::excerpt(dump(msg)));
      return;
    }
    state_ = state::negotiating;
    queue_command(capabilities_id_, "qmp_capabilities", nullptr);
    for (const held_command& h : held_) queue_command(h.id, h.command, h.args);
    held_.clear();
    outputs_.push_back(greeting_received{std::move(*g)});
    return;
  }
  if (qmp_member != msg.end()) {
    fail(error::protocol_error, "unexpected second QMP greeting");
    return;
  }
  if (auto name = msg.find("event"); name != msg.end()) {
    if (!name->is_string()) {
      fail(error::protocol_error, "event name is not a string: " + detail::excerpt(dump(msg)));
      return;
    }
    event e;
    e.name = name->get<std::string>();
    if (auto data = msg.find("data"); data != msg.end()) e.data = std::move(*data);
    if (auto ts = msg.find("timestamp"); ts != msg.end() && ts->is_object()) {
      if (auto s = ts->find("seconds"); s != ts->end() && s->is_number_integer()) {
        e.seconds = s->get<std::int64_t>();
      }
      if (auto us = ts->find("microseconds"); us != ts->end() && us->is_number_integer()) {
        e.microseconds = us->get<std::int64_t>();
      }
    }
    outputs_.push_back(event_received{std::move(e)});
    return;
  }
  if (msg.contains("return") || msg.contains("error")) {
    handle_reply(std::move(msg));
    return;
  }
  fail(error::protocol_error,
       "message is neither greeting, event nor reply: " + detail::excerpt(dump(msg)));
}

void session::handle_reply(json&& msg) {
  reply r;
  if (auto err = msg.find("error"); err != msg.end()) {
    if (!err->is_object()) {
      fail(error::protocol_error, "error member is not an object: " + detail::excerpt(dump(msg)));
      return;
    }
    qmp_error e;
    if (auto c = err->find("class"); c != err->end() && c->is_string())
      e.cls = c->get<std::string>();
    if (auto d = err->find("desc"); d != err->end() && d->is_string())
      e.desc = d->get<std::string>();
    r.error = std::move(e);
  } else {
    r.value = std::move(msg["return"]);
  }
  auto id_member = msg.find("id");
  bool numeric = false;
  call_id id = 0;
  if (id_member != msg.end()) {
    numeric = id_member->is_number_unsigned();
    id = numeric ? id_member->get<call_id>() : 0;
    if (numeric) std::erase(in_order_, id);
  } else if (ids_on_the_wire_) {
    // qemu sends an error without id when it could not parse a command: nothing tells which call
    // it belongs to, so (like qemu.qmp and libvirt) the session ends rather than guess.
    fail(error::protocol_error, r.error ? "error reply without id: " + r.error->to_string()
                                        : "reply without id: " + detail::excerpt(dump(msg)));
    return;
  } else if (in_order_.empty()) {
    fail(error::protocol_error, "reply with no command outstanding: " + detail::excerpt(dump(msg)));
    return;
  } else {
    // By order: qemu answers one monitor's commands in the order they came.
    numeric = true;
    id = in_order_.front();
    in_order_.pop_front();
  }
  if (state_ == state::negotiating) {
    if (numeric && id == capabilities_id_) {
      if (r.error) {
        fail(error::negotiation_failed, "qmp_capabilities refused: " + r.error->to_string());
        return;
      }
      state_ = state::ready;
      outputs_.push_back(ready_reached{});
      return;
    }
  }
  if (numeric && pending_.erase(id) == 1) {
    outputs_.push_back(reply_received{id, std::move(r)});
    return;
  }
  note("dropped reply " +
       (id_member != msg.end() ? "with id " + detail::excerpt(dump(*id_member))
                               : "to call " + std::to_string(id)) +
       ": no such call pending (unknown, cancelled or timed out)");
}

void session::queue_command(call_id id, std::string_view command, const json& args) {
  json msg = {{"execute", command}};
  if (!args.is_null()) msg["arguments"] = args;
  if (ids_on_the_wire_) msg["id"] = id;
  in_order_.push_back(id);
  const std::size_t start = write_buffer_.size();
  write_buffer_ += dump(msg);
  if (transcript_) transcript_(direction::out, std::string_view(write_buffer_).substr(start));
  write_buffer_ += '\n';
}

call_id session::send(std::string_view command, const json& args) {
  if (state_ == state::failed) throw std::logic_error("qmp::session::send: session failed");
  const call_id id = next_id_++;
  if (state_ == state::awaiting_greeting)
    held_.push_back({id, std::string(command), args});
  else
    queue_command(id, command, args);
  pending_.insert(id);
  return id;
}

bool session::abandon(call_id id) {
  std::erase_if(held_, [id](const held_command& h) { return h.id == id; });  // never written
  return pending_.erase(id) == 1;
}

std::optional<session::output> session::next_output() {
  if (outputs_.empty()) return std::nullopt;
  output o = std::move(outputs_.front());
  outputs_.pop_front();
  return o;
}

}  // namespace qmp
