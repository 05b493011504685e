#include "instance/intent_journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "os/crash_point.hpp"
#include "os/private_path.hpp"

namespace mdevrun {
namespace {

using nlohmann::json;

const char* kind_name(DeviceChange::Kind kind) {
  switch (kind) {
    case DeviceChange::Kind::lock_mdev:
      return "lock_mdev";
    case DeviceChange::Kind::create_mdev:
      return "create_mdev";
    case DeviceChange::Kind::remove_mdev:
      return "remove_mdev";
    case DeviceChange::Kind::lock_pci:
      return "lock_pci";
    case DeviceChange::Kind::pci_change:
      return "pci_change";
    case DeviceChange::Kind::pci_undo:
      return "pci_undo";
  }
  return "unknown";
}

[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
  const int err = errno;
  throw Error(ExitCode::failure,
              "intent journal " + path.string() + ": " + what + " failed: " + std::strerror(err));
}

}  // namespace

IntentJournal::IntentJournal(std::filesystem::path path)
    : path_(std::move(path)),
      fd_(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {
  if (!fd_) fail(path_, "open");
}

void IntentJournal::append(const std::string& line) {
  const std::string text = line + "\n";
  // One write per line: with O_APPEND, lines of concurrent writers never interleave.
  const ssize_t n = ::write(fd_.get(), text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) fail(path_, "write");
  if (::fdatasync(fd_.get()) != 0) fail(path_, "fdatasync");
}

std::uint64_t IntentJournal::intend(const DeviceChange& change) {
  // Unique in the file: the writer's pid, and a counter shared by every journal object of the
  // process (the supervisor's cleanup opens a second one on the same file).
  static std::atomic<std::uint32_t> counter{0};
  const std::uint64_t id = (static_cast<std::uint64_t>(::getpid()) << 32) | ++counter;
  const MdevRecord& m = change.mdev;
  crash_point("before the intent is recorded");
  json line{{"id", id}, {"intent", kind_name(change.kind)}};
  using K = DeviceChange::Kind;
  if (change.kind == K::lock_pci || change.kind == K::pci_change || change.kind == K::pci_undo) {
    const PciChange& c = change.pci;
    line["pci"] = {{"kind", to_string(c.kind)},
                   {"slice", c.slice},
                   {"address", c.address},
                   {"before", c.before},
                   {"after", c.after}};
    if (change.kind == K::pci_undo) line["undoes"] = change.undoes;
  } else {
    line["mdev"] = {{"id", m.id}, {"uuid", m.uuid}, {"parent", m.parent}, {"type", m.type}};
  }
  append(line.dump());
  crash_point(kind_name(change.kind));  // recorded, not yet made
  return id;
}

void IntentJournal::finish(std::uint64_t id, int error) {
  crash_point("made, outcome not recorded");
  append(json{{"id", id}, {"error", error}}.dump());
  crash_point("outcome recorded");
}

void IntentJournal::intend_helper(const std::string& name, const std::filesystem::path& socket) {
  static std::atomic<std::uint32_t> counter{0};
  const std::uint64_t id = (static_cast<std::uint64_t>(::getpid()) << 32) | (1u << 31) | ++counter;
  crash_point("before the helper intent is recorded");
  append(json{{"id", id},
              {"intent", "start_helper"},
              {"helper", {{"name", name}, {"socket", socket.string()}}}}
             .dump());
  crash_point("start_helper");  // recorded, not yet started
}

std::optional<JournalView> read_journal(const std::filesystem::path& path) {
  // It says which devices get removed: only our own, private file is believed.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) require_private(path, PathKind::regular_file);
    fail(path, "open");
  }
  UniqueFd file(fd);
  require_private_fd(fd, path, PathKind::regular_file);
  std::string text;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "read");
    text.append(buf, static_cast<std::size_t>(n));
  }
  std::istringstream in(text);
  struct Intent {
    std::string kind;
    MdevRecord mdev;
    std::optional<int> error;
    PciChange pci{};
    std::uint64_t undoes = 0;
  };
  std::vector<std::uint64_t> order;
  std::map<std::uint64_t, Intent> intents;
  JournalView view;
  std::string line;
  while (std::getline(in, line)) {
    const bool last = in.peek() == std::char_traits<char>::eof();
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("id") || !j["id"].is_number_unsigned()) {
      if (last) view.torn_tail = true;
      continue;
    }
    const auto id = j["id"].get<std::uint64_t>();
    if (j.contains("intent") && j["intent"].is_string() && j.contains("mdev") &&
        j["mdev"].is_object()) {
      const json& m = j["mdev"];
      Intent intent{j["intent"].get<std::string>(),
                    {m.value("id", ""), m.value("uuid", ""), m.value("parent", ""),
                     m.value("type", ""), true},
                    std::nullopt};
      if (intent.mdev.uuid.empty()) continue;
      intents[id] = std::move(intent);
      order.push_back(id);
    } else if (j.contains("intent") && j["intent"].is_string() && j.contains("pci") &&
               j["pci"].is_object()) {
      const json& p = j["pci"];
      Intent intent{j["intent"].get<std::string>(), {}, std::nullopt};
      intent.pci.address = p.value("address", "");
      intent.pci.slice = p.value("slice", "");
      intent.pci.before = p.value("before", "");
      intent.pci.after = p.value("after", "");
      const std::string kind = p.value("kind", "");
      if (!parse_pci_change_kind(kind, intent.pci.kind) && intent.kind != "lock_pci") continue;
      if (j.contains("undoes") && j["undoes"].is_number_unsigned())
        intent.undoes = j["undoes"].get<std::uint64_t>();
      if (intent.pci.address.empty()) continue;
      intents[id] = std::move(intent);
      order.push_back(id);
    } else if (j.value("intent", "") == "start_helper" && j.contains("helper") &&
               j["helper"].is_object() && j["helper"].contains("socket") &&
               j["helper"]["socket"].is_string()) {
      const std::string socket = j["helper"]["socket"].get<std::string>();
      if (!socket.empty()) view.helper_sockets.emplace_back(socket);
    } else if (j.contains("error") && j["error"].is_number_integer()) {
      if (auto it = intents.find(id); it != intents.end()) it->second.error = j["error"].get<int>();
    }
  }
  for (const auto id : order) {
    const Intent& i = intents[id];
    const auto owned_it = std::find_if(view.owned.begin(), view.owned.end(),
                                       [&](const MdevRecord& r) { return r.uuid == i.mdev.uuid; });
    if (i.kind == "lock_mdev") {
      if (std::find(view.locked.begin(), view.locked.end(), i.mdev.uuid) == view.locked.end())
        view.locked.push_back(i.mdev.uuid);
    } else if (i.kind == "create_mdev") {
      // Not recorded as failed: the write may have happened just before a crash.
      if (i.error.value_or(0) == 0 && owned_it == view.owned.end()) view.owned.push_back(i.mdev);
    } else if (i.kind == "remove_mdev") {
      if (i.error && *i.error == 0 && owned_it != view.owned.end()) view.owned.erase(owned_it);
    } else if (i.kind == "lock_pci") {
      if (std::find(view.pci_locked.begin(), view.pci_locked.end(), i.pci.address) ==
          view.pci_locked.end())
        view.pci_locked.push_back(i.pci.address);
    } else if (i.kind == "pci_change") {
      // Like a create: a write whose outcome was never recorded may have happened.
      if (i.error.value_or(0) == 0) view.pci_changes.push_back({id, i.pci});
    } else if (i.kind == "pci_undo") {
      // Put back (or found nothing to put back): done for good. A failed one stays to retry.
      if (i.error && *i.error == 0)
        std::erase_if(view.pci_changes, [&](const PciChangeRecord& r) { return r.id == i.undoes; });
    }
  }
  return view;
}

}  // namespace mdevrun
