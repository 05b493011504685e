// fake-sysfs: a FUSE filesystem that behaves like the kernel's mdev sysfs ABI, for tests.
//
//   fake-sysfs --config FILE --sys MOUNTPOINT --dev DIR [--ready-fd N]
//
// Mounts a tree laid out like /sys (class/mdev_bus, bus/mdev/devices, devices/..., kernel/
// iommu_groups) at MOUNTPOINT and keeps /dev/vfio/<group> nodes (plain files) under DIR. A write of
// a UUID to a type's `create` makes the device synchronously; errors come back as the kernel's
// errno. A hidden `/.control` file takes commands from tests (see README.md next to this file).
// Runs in the foreground until unmounted or sent SIGTERM/SIGINT; with --ready-fd it writes one
// line to that fd once the mount is live.

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

enum class Kind { dir, file, link };
enum class Role { text, create, available, remove, control };

struct Node {
  fuse_ino_t ino = 0;
  fuse_ino_t parent = 0;
  std::string name;
  Kind kind = Kind::dir;
  mode_t mode = 0755;
  std::map<std::string, fuse_ino_t> children;
  std::string target;  // link: relative target
  std::string text;    // Role::text content
  Role role = Role::text;
  std::string parent_name, type_name, uuid;  // what a dynamic file belongs to
  bool hidden = false;                       // found by lookup, not listed by readdir
  // A device entry made by a delayed create: neither found nor listed before this time (udev and
  // some drivers add the device a moment after the `create` write returns).
  std::chrono::steady_clock::time_point appears_at{};
  bool visible() const { return std::chrono::steady_clock::now() >= appears_at; }
};

struct Pool {
  long capacity = 0;
  long used = 0;
};

struct Type {
  std::string id;
  std::optional<std::string> name, description;
  std::string device_api = "vfio-pci";
  std::string pool;
  long cost = 1;
  int full_errno = ENOSPC;
  std::optional<long> advertise;  // shown instead of the real count (a stale, advisory value)
};

struct Parent {
  std::string name;
  std::string path;  // relative to the mount root, e.g. devices/virtual/mtty/mtty
  std::map<std::string, Pool> pools;
  std::map<std::string, Type> types;
};

enum class InUse { no, block, ebusy };

struct Device {
  std::string uuid, parent, type;
  int group = 0;
  InUse in_use = InUse::no;
  std::vector<fuse_req_t> pending_removes;  // blocked writes to `remove`, answered on release
};

const std::map<std::string, int> kErrnos = {
    {"EPERM", EPERM},   {"ENOENT", ENOENT}, {"EIO", EIO},       {"EAGAIN", EAGAIN},
    {"ENOMEM", ENOMEM}, {"EACCES", EACCES}, {"EBUSY", EBUSY},   {"EEXIST", EEXIST},
    {"ENODEV", ENODEV}, {"EINVAL", EINVAL}, {"ENOSPC", ENOSPC}, {"EUSERS", EUSERS},
};

int parse_errno(const std::string& text) {
  if (auto it = kErrnos.find(text); it != kErrnos.end()) return it->second;
  std::size_t used = 0;
  const int value = std::stoi(text, &used);
  if (used != text.size() || value <= 0) throw std::invalid_argument("bad errno " + text);
  return value;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The kernel's guid_parse(): 8-4-4-4-12 hex digits, either case; only the first 36 bytes count.
std::optional<std::string> parse_guid(std::string_view text) {
  if (text.size() < 36) return std::nullopt;
  std::string out(text.substr(0, 36));
  for (std::size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? out[i] != '-' : !is_hex(out[i])) return std::nullopt;
    if (out[i] >= 'A' && out[i] <= 'F') out[i] = static_cast<char>(out[i] - 'A' + 'a');
  }
  return out;
}

bool looks_like_pci(const std::string& name) {
  // dddd:bb:dd.f
  if (name.size() != 12 || name[4] != ':' || name[7] != ':' || name[10] != '.') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11})
    if (!is_hex(name[i])) return false;
  return true;
}

class Fake {
 public:
  Fake(const json& config, fs::path dev_root) : dev_root_(std::move(dev_root)) {
    auto& root = make_node(FUSE_ROOT_ID, 0, "", Kind::dir, 0755);
    (void)root;
    group_base_ = config.value("iommu_group_base", 10);
    for (const char* dir : {"devices/virtual", "class/mdev_bus", "bus/mdev/devices",
                            "bus/mdev/drivers/vfio_mdev", "bus/pci/devices", "kernel/iommu_groups"})
      mkdir_p(dir);
    auto& control = add(FUSE_ROOT_ID, ".control", Kind::file, 0600);
    control.role = Role::control;
    control.hidden = true;
    for (const auto& p : config.at("parents")) add_parent(p);
    const json devices = config.value("devices", json::array());
    for (const auto& d : devices) {
      const int error = create(d.at("parent").get<std::string>(), d.at("type").get<std::string>(),
                               d.at("uuid").get<std::string>());
      if (error != 0)
        throw std::runtime_error("config device " + d.dump() + ": " + std::strerror(error));
    }
  }

  ~Fake() {
    for (const auto& [uuid, device] : devices_) {
      std::error_code ec;
      fs::remove(vfio_node(device.group), ec);
    }
  }

  Node* node(fuse_ino_t ino) {
    auto it = nodes_.find(ino);
    return it == nodes_.end() ? nullptr : it->second.get();
  }

  Node* child(fuse_ino_t parent, const std::string& name) {
    Node* p = node(parent);
    if (!p || p->kind != Kind::dir) return nullptr;
    auto it = p->children.find(name);
    return it == p->children.end() ? nullptr : node(it->second);
  }

  struct stat attr(const Node& n) const {
    struct stat st {};
    st.st_ino = n.ino;
    st.st_uid = 0;
    st.st_gid = 0;
    st.st_atime = st.st_mtime = st.st_ctime = started_;
    switch (n.kind) {
      case Kind::dir:
        st.st_mode = S_IFDIR | n.mode;
        st.st_nlink = 2;
        break;
      case Kind::file:
        st.st_mode = S_IFREG | n.mode;
        st.st_nlink = 1;
        st.st_size = 4096;  // like sysfs: the size says nothing about the content
        break;
      case Kind::link:
        st.st_mode = S_IFLNK | 0777;
        st.st_nlink = 1;
        st.st_size = static_cast<off_t>(n.target.size());
        break;
    }
    return st;
  }

  std::string content(const Node& n) {
    switch (n.role) {
      case Role::available: {
        const Parent& p = parents_.at(n.parent_name);
        const Type& t = p.types.at(n.type_name);
        return std::to_string(t.advertise ? *t.advertise : free_instances(p, t)) + "\n";
      }
      case Role::control:
        return status().dump() + "\n";
      default:
        return n.text;
    }
  }

  bool deny_writes() const { return deny_writes_; }

  // A write to a type's `create`: the errno to return, or 0 (the device exists on return).
  int write_create(const Node& n, std::string_view buf) {
    if (!fail_create_.empty()) {
      const int error = fail_create_.front();
      fail_create_.pop_front();
      return error;
    }
    // create_store(): 36 or 37 bytes, then guid_parse().
    if (buf.size() < 36 || buf.size() > 37) return EINVAL;
    const auto uuid = parse_guid(buf);
    if (!uuid) return EINVAL;
    return create(n.parent_name, n.type_name, *uuid);
  }

  // A write to a device's `remove`: errno, 0 when removed, or -1 when the reply is deferred
  // (the device is in use and the write blocks, as in the kernel).
  int write_remove(fuse_req_t req, const Node& n, std::string_view buf) {
    if (!fail_remove_.empty()) {
      const int error = fail_remove_.front();
      fail_remove_.pop_front();
      return error;
    }
    // remove_store(): kstrtoul(buf, 0); a non-zero value removes.
    std::string text(buf);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    char* end = nullptr;
    errno = 0;
    const unsigned long value = std::strtoul(text.c_str(), &end, 0);
    if (text.empty() || errno != 0 || *end != '\0' || text[0] == '-') return EINVAL;
    auto it = devices_.find(n.uuid);
    if (it == devices_.end()) return ENODEV;
    if (value == 0) return 0;
    Device& d = it->second;
    if (d.in_use == InUse::ebusy) return EBUSY;
    if (d.in_use == InUse::block) {
      d.pending_removes.push_back(req);
      return -1;
    }
    destroy(d.uuid);
    return 0;
  }

  // A blocked remove was interrupted (the writer got a signal): answer it with EINTR.
  void interrupt(fuse_req_t req) {
    for (auto& [uuid, d] : devices_)
      for (auto it = d.pending_removes.begin(); it != d.pending_removes.end(); ++it)
        if (*it == req) {
          d.pending_removes.erase(it);
          fuse_reply_err(req, EINTR);
          return;
        }
  }

  // One control command; returns errno (EINVAL for a bad command).
  int command(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> w;
    for (std::string word; in >> word;) w.push_back(word);
    if (w.empty()) return 0;
    try {
      if (w[0] == "fail-create" && (w.size() == 2 || w.size() == 3)) {
        const int error = parse_errno(w[1]);
        for (int i = 0, n = w.size() == 3 ? std::stoi(w[2]) : 1; i < n; ++i)
          fail_create_.push_back(error);
      } else if (w[0] == "fail-remove" && (w.size() == 2 || w.size() == 3)) {
        const int error = parse_errno(w[1]);
        for (int i = 0, n = w.size() == 3 ? std::stoi(w[2]) : 1; i < n; ++i)
          fail_remove_.push_back(error);
      } else if (w[0] == "deny-writes" && w.size() == 2 && (w[1] == "on" || w[1] == "off")) {
        deny_writes_ = w[1] == "on";
      } else if (w[0] == "create-delay" && w.size() == 2) {
        create_delay_ = std::chrono::milliseconds(std::stol(w[1]));
      } else if (w[0] == "dev-nodes" && w.size() == 2 && (w[1] == "on" || w[1] == "off")) {
        dev_nodes_ = w[1] == "on";
      } else if (w[0] == "in-use" && w.size() == 3) {
        auto it = devices_.find(w[1]);
        if (it == devices_.end()) return ENOENT;
        if (w[2] == "block")
          it->second.in_use = InUse::block;
        else if (w[2] == "ebusy")
          it->second.in_use = InUse::ebusy;
        else if (w[2] == "off")
          release(w[1]);
        else
          return EINVAL;
      } else if (w[0] == "release" && w.size() == 2) {
        if (!devices_.count(w[1])) return ENOENT;
        release(w[1]);
      } else if (w[0] == "set-pool" && w.size() == 4) {
        auto p = parents_.find(w[1]);
        if (p == parents_.end() || !p->second.pools.count(w[2])) return ENOENT;
        p->second.pools[w[2]].capacity = std::stol(w[3]);
      } else if (w[0] == "set-instances" && w.size() == 4) {
        Type* t = find_type(w[1], w[2]);
        if (!t) return ENOENT;
        parents_.at(w[1]).pools.at(t->pool).capacity = std::stol(w[3]);
      } else if (w[0] == "advertise" && w.size() == 4) {
        Type* t = find_type(w[1], w[2]);
        if (!t) return ENOENT;
        if (w[3] == "real")
          t->advertise.reset();
        else
          t->advertise = std::stol(w[3]);
      } else {
        return EINVAL;
      }
    } catch (const std::exception&) {
      return EINVAL;
    }
    return 0;
  }

 private:
  Node& make_node(fuse_ino_t ino, fuse_ino_t parent, std::string name, Kind kind, mode_t mode) {
    auto n = std::make_unique<Node>();
    n->ino = ino;
    n->parent = parent;
    n->name = std::move(name);
    n->kind = kind;
    n->mode = mode;
    Node& ref = *n;
    nodes_[ino] = std::move(n);
    return ref;
  }

  Node& add(fuse_ino_t dir, const std::string& name, Kind kind, mode_t mode) {
    Node& n = make_node(next_ino_++, dir, name, kind, mode);
    node(dir)->children[name] = n.ino;
    return n;
  }

  Node* walk(const std::string& path) {
    Node* n = node(FUSE_ROOT_ID);
    std::istringstream in(path);
    for (std::string part; n && std::getline(in, part, '/');)
      if (!part.empty()) n = child(n->ino, part);
    return n;
  }

  Node& mkdir_p(const std::string& path) {
    Node* n = node(FUSE_ROOT_ID);
    std::istringstream in(path);
    for (std::string part; std::getline(in, part, '/');) {
      if (part.empty()) continue;
      Node* next = child(n->ino, part);
      n = next ? next : &add(n->ino, part, Kind::dir, 0755);
    }
    return *n;
  }

  Node& add_text(const std::string& dir, const std::string& name, std::string text,
                 mode_t mode = 0444) {
    Node& n = add(mkdir_p(dir).ino, name, Kind::file, mode);
    n.text = std::move(text);
    return n;
  }

  // A symlink at `path` pointing at `target` (both relative to the root), written as the shortest
  // relative path, the way sysfs writes its links ("../../devices/...",
  // "../mdev_supported_types/X").
  void add_link(const std::string& path, const std::string& target) {
    const fs::path p(path);
    Node& n = add(mkdir_p(p.parent_path().string()).ino, p.filename().string(), Kind::link, 0777);
    n.target = fs::path(target).lexically_relative(p.parent_path()).string();
  }

  void remove_path(const std::string& path) {
    Node* n = walk(path);
    if (!n || n->ino == FUSE_ROOT_ID) return;
    node(n->parent)->children.erase(n->name);
    erase_tree(n->ino);
  }

  void erase_tree(fuse_ino_t ino) {
    Node* n = node(ino);
    if (!n) return;
    for (const auto& [name, child_ino] : n->children) erase_tree(child_ino);
    nodes_.erase(ino);
  }

  Type* find_type(const std::string& parent, const std::string& type) {
    auto p = parents_.find(parent);
    if (p == parents_.end()) return nullptr;
    auto t = p->second.types.find(type);
    return t == p->second.types.end() ? nullptr : &t->second;
  }

  void add_parent(const json& config) {
    Parent p;
    p.name = config.at("name").get<std::string>();
    p.path =
        config.value("path", looks_like_pci(p.name) ? "devices/pci0000:00/" + p.name
                                                    : "devices/virtual/" + p.name + "/" + p.name);
    const json pools = config.value("pools", json::object());
    for (const auto& [name, capacity] : pools.items())
      p.pools[name].capacity = capacity.get<long>();
    mkdir_p(p.path);
    add_text(p.path, "uevent", "");
    add_link("class/mdev_bus/" + p.name, p.path);
    if (looks_like_pci(p.name)) add_link("bus/pci/devices/" + p.name, p.path);
    for (const auto& tc : config.at("types")) {
      Type t;
      t.id = tc.at("type").get<std::string>();
      if (tc.contains("name")) t.name = tc.at("name").get<std::string>();
      if (tc.contains("description")) t.description = tc.at("description").get<std::string>();
      t.device_api = tc.value("device_api", t.device_api);
      t.full_errno = parse_errno(tc.value("full_errno", std::string("ENOSPC")));
      if (tc.contains("pool")) {
        t.pool = tc.at("pool").get<std::string>();
        t.cost = tc.value("cost", 1L);
        if (!p.pools.count(t.pool))
          throw std::runtime_error("type " + t.id + ": no pool " + t.pool);
      } else {
        t.pool = "type:" + t.id;
        p.pools[t.pool].capacity = tc.at("instances").get<long>();
      }
      const std::string dir = p.path + "/mdev_supported_types/" + t.id;
      Node& create = add_text(dir, "create", "", 0200);
      create.role = Role::create;
      create.parent_name = p.name;
      create.type_name = t.id;
      Node& available = add_text(dir, "available_instances", "");
      available.role = Role::available;
      available.parent_name = p.name;
      available.type_name = t.id;
      add_text(dir, "device_api", t.device_api + "\n");
      if (t.name) add_text(dir, "name", *t.name + "\n");
      if (t.description) add_text(dir, "description", *t.description + "\n");
      mkdir_p(dir + "/devices");
      p.types[t.id] = std::move(t);
    }
    parents_[p.name] = std::move(p);
  }

  long free_instances(const Parent& p, const Type& t) const {
    const Pool& pool = p.pools.at(t.pool);
    const long left = pool.capacity - pool.used;
    return left <= 0 ? 0 : left / t.cost;
  }

  fs::path vfio_node(int group) const { return dev_root_ / "vfio" / std::to_string(group); }

  int create(const std::string& parent, const std::string& type, const std::string& uuid) {
    Parent& p = parents_.at(parent);
    Type& t = p.types.at(type);
    if (devices_.count(uuid)) return EEXIST;  // a UUID is unique across all parents
    if (free_instances(p, t) <= 0) return t.full_errno;
    p.pools.at(t.pool).used += t.cost;
    int group = group_base_;
    while (groups_.count(group)) ++group;
    groups_.insert(group);
    Device& d = devices_[uuid];
    d.uuid = uuid;
    d.parent = parent;
    d.type = type;
    d.group = group;

    const std::string dir = p.path + "/" + uuid;
    const std::string type_dir = p.path + "/mdev_supported_types/" + type;
    const std::string group_dir = "kernel/iommu_groups/" + std::to_string(group);
    mkdir_p(dir);
    add_link(dir + "/mdev_type", type_dir);
    add_link(dir + "/iommu_group", group_dir);
    add_link(dir + "/subsystem", "bus/mdev");
    add_link(dir + "/driver", "bus/mdev/drivers/vfio_mdev");
    add_text(dir, "uevent", "MDEV_TYPE=" + type + "\n");
    Node& remove = add_text(dir, "remove", "", 0200);
    remove.role = Role::remove;
    remove.uuid = uuid;
    add_link(type_dir + "/devices/" + uuid, dir);
    add_link("bus/mdev/devices/" + uuid, dir);
    if (create_delay_.count() > 0) {
      const auto at = std::chrono::steady_clock::now() + create_delay_;
      for (const std::string& path :
           {dir, type_dir + "/devices/" + uuid, "bus/mdev/devices/" + uuid})
        if (Node* n = walk(path)) n->appears_at = at;
    }
    add_link(group_dir + "/devices/" + uuid, dir);
    add_text(group_dir, "type", "DMA\n");
    if (dev_nodes_) {
      std::error_code ec;
      fs::create_directories(dev_root_ / "vfio", ec);
      std::ofstream(vfio_node(group)).flush();
      fs::permissions(vfio_node(group), fs::perms::owner_read | fs::perms::owner_write, ec);
    }
    ++creates_;
    return 0;
  }

  void destroy(const std::string& uuid) {
    auto it = devices_.find(uuid);
    if (it == devices_.end()) return;
    Device& d = it->second;
    Parent& p = parents_.at(d.parent);
    Type& t = p.types.at(d.type);
    p.pools.at(t.pool).used -= t.cost;
    remove_path(p.path + "/" + uuid);
    remove_path(p.path + "/mdev_supported_types/" + d.type + "/devices/" + uuid);
    remove_path("bus/mdev/devices/" + uuid);
    remove_path("kernel/iommu_groups/" + std::to_string(d.group));
    std::error_code ec;
    fs::remove(vfio_node(d.group), ec);
    groups_.erase(d.group);
    ++removes_;
    devices_.erase(it);
  }

  // The device is no longer in use: blocked removes complete now.
  void release(const std::string& uuid) {
    Device& d = devices_.at(uuid);
    d.in_use = InUse::no;
    auto pending = std::move(d.pending_removes);
    if (pending.empty()) return;
    destroy(uuid);
    for (fuse_req_t req : pending) fuse_reply_write(req, 1);
  }

  json status() const {
    json devices = json::array();
    long pending = 0;
    for (const auto& [uuid, d] : devices_) {
      pending += static_cast<long>(d.pending_removes.size());
      devices.push_back({{"uuid", uuid},
                         {"parent", d.parent},
                         {"type", d.type},
                         {"iommu_group", d.group},
                         {"in_use", d.in_use == InUse::no      ? "no"
                                    : d.in_use == InUse::block ? "block"
                                                               : "ebusy"}});
    }
    return {{"creates", creates_},
            {"removes", removes_},
            {"pending_removes", pending},
            {"devices", devices}};
  }

  std::unordered_map<fuse_ino_t, std::unique_ptr<Node>> nodes_;
  fuse_ino_t next_ino_ = FUSE_ROOT_ID + 1;
  std::map<std::string, Parent> parents_;
  std::map<std::string, Device> devices_;
  std::set<int> groups_;
  int group_base_ = 10;
  fs::path dev_root_;
  std::deque<int> fail_create_, fail_remove_;
  bool deny_writes_ = false;
  bool dev_nodes_ = true;
  std::chrono::milliseconds create_delay_{0};
  long creates_ = 0, removes_ = 0;
  time_t started_ = ::time(nullptr);
};

Fake* g_fake = nullptr;

void reply_entry(fuse_req_t req, const Node& n) {
  fuse_entry_param e{};
  e.ino = n.ino;
  e.attr = g_fake->attr(n);
  e.attr_timeout = 0;  // no caching: every attribute read reaches us, like sysfs
  e.entry_timeout = 0;
  fuse_reply_entry(req, &e);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (Node* n = g_fake->child(parent, name); n && n->visible())
    reply_entry(req, *n);
  else
    fuse_reply_err(req, ENOENT);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Node* n = g_fake->node(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  const struct stat st = g_fake->attr(*n);
  fuse_reply_attr(req, &st, 0);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat*, int, fuse_file_info*) {
  op_getattr(req, ino, nullptr);  // O_TRUNC on an attribute is ignored, as in sysfs
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  Node* n = g_fake->node(ino);
  if (!n || n->kind != Kind::link) return (void)fuse_reply_err(req, n ? EINVAL : ENOENT);
  fuse_reply_readlink(req, n->target.c_str());
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Node* n = g_fake->node(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  if (n->kind != Kind::dir) return (void)fuse_reply_err(req, ENOTDIR);
  std::vector<std::pair<std::string, const Node*>> entries = {{".", n}, {"..", n}};
  for (const auto& [name, child_ino] : n->children) {
    const Node* c = g_fake->node(child_ino);
    if (c && !c->hidden && c->visible()) entries.emplace_back(name, c);
  }
  std::vector<char> buf(size);
  std::size_t used = 0;
  for (std::size_t i = static_cast<std::size_t>(off); i < entries.size(); ++i) {
    const struct stat st = g_fake->attr(*entries[i].second);
    const std::size_t need =
        fuse_add_direntry(req, buf.data() + used, size - used, entries[i].first.c_str(), &st,
                          static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Node* n = g_fake->node(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  if (n->kind != Kind::file) return (void)fuse_reply_err(req, EISDIR);
  const int access = fi->flags & O_ACCMODE;
  const bool reading = access == O_RDONLY || access == O_RDWR;
  const bool writing = access == O_WRONLY || access == O_RDWR;
  // sysfs refuses to open for reading a store-only attribute and vice versa, even for root.
  if ((reading && !(n->mode & 0400)) || (writing && !(n->mode & 0200)))
    return (void)fuse_reply_err(req, EACCES);
  if (writing && g_fake->deny_writes() && (n->role == Role::create || n->role == Role::remove))
    return (void)fuse_reply_err(req, EACCES);
  fi->direct_io = 1;  // every read and write reaches us, in one piece
  fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Node* n = g_fake->node(ino);
  if (!n) return (void)fuse_reply_err(req, ENODEV);
  const std::string text = g_fake->content(*n);
  if (off >= static_cast<off_t>(text.size())) return (void)fuse_reply_buf(req, nullptr, 0);
  const std::size_t len = std::min(size, text.size() - static_cast<std::size_t>(off));
  fuse_reply_buf(req, text.data() + off, len);
}

void on_interrupt(fuse_req_t req, void*) {
  g_fake->interrupt(req);
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t,
              fuse_file_info*) {
  Node* n = g_fake->node(ino);
  if (!n) return (void)fuse_reply_err(req, ENODEV);  // the device went away meanwhile
  const std::string_view data(buf, size);
  int error = 0;
  switch (n->role) {
    case Role::create:
      error = g_fake->write_create(*n, data);
      break;
    case Role::remove:
      error = g_fake->write_remove(req, *n, data);
      if (error < 0) return fuse_req_interrupt_func(req, on_interrupt, nullptr);  // blocked
      break;
    case Role::control: {
      std::istringstream in{std::string(data)};
      for (std::string line; !error && std::getline(in, line);) error = g_fake->command(line);
      break;
    }
    default:
      error = EACCES;
  }
  if (error)
    fuse_reply_err(req, error);
  else
    fuse_reply_write(req, size);
}

void op_forget(fuse_req_t req, fuse_ino_t, uint64_t) {
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t, fuse_forget_data*) {
  fuse_reply_none(req);
}

int usage() {
  std::cerr << "usage: fake-sysfs --config FILE --sys MOUNTPOINT --dev DIR [--ready-fd N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file, sys, dev;
  int ready_fd = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    if (arg == "--config")
      config_file = argv[++i];
    else if (arg == "--sys")
      sys = argv[++i];
    else if (arg == "--dev")
      dev = argv[++i];
    else if (arg == "--ready-fd")
      ready_fd = std::stoi(argv[++i]);
    else
      return usage();
  }
  if (config_file.empty() || sys.empty() || dev.empty()) return usage();

  std::unique_ptr<Fake> fake;
  try {
    std::ifstream in(config_file);
    if (!in) throw std::runtime_error("cannot open " + config_file);
    fake = std::make_unique<Fake>(json::parse(in), dev);
  } catch (const std::exception& e) {
    std::cerr << "fake-sysfs: bad config: " << e.what() << "\n";
    return 1;
  }
  g_fake = fake.get();

  fuse_lowlevel_ops ops{};
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.readlink = op_readlink;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.readdir = op_readdir;

  const char* fuse_argv[] = {"fake-sysfs", "-o", "fsname=fake-sysfs,subtype=fake-sysfs"};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(fuse_argv));
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  if (!se) return 1;
  int rc = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, sys.c_str()) == 0) {
      if (ready_fd >= 0) {
        const char line[] = "ready\n";
        if (::write(ready_fd, line, sizeof line - 1) < 0) {
          // the parent went away; the loop ends when it unmounts or signals us
        }
        ::close(ready_fd);
      }
      rc = fuse_session_loop(se) < 0 ? 1 : 0;
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  g_fake = nullptr;
  return rc;
}
