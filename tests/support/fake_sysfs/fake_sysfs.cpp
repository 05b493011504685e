// fake-sysfs: a FUSE filesystem that behaves like the kernel's mdev sysfs ABI and the PCI sysfs
// of SR-IOV, driver binding and NVIDIA's vGPU VF interface (Linux 6.1), for tests.
//
//   fake-sysfs --config FILE --sys MOUNTPOINT --dev DIR [--ready-fd N]
//
// Mounts a tree laid out like /sys (class/mdev_bus, bus/mdev/devices, devices/..., kernel/
// iommu_groups, bus/pci) at MOUNTPOINT and keeps /dev/vfio/<group> nodes (plain files) under DIR. A
// write of a UUID to a type's `create` makes the device synchronously, a write to `sriov_numvfs` or
// a driver's `bind` changes the tree before it returns; errors come back as the kernel's errno. A
// hidden `/.control` file takes commands from tests (see README.md next to this file). Runs in the
// foreground until unmounted or sent SIGTERM/SIGINT; with --ready-fd it writes one line to that fd
// once the mount is live.

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
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
enum class Role { text, create, available, remove, control, pci };

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
  std::string pci_key;  // Role::pci: the device address (or driver name) the attribute belongs to
  bool hidden = false;  // found by lookup, not listed by readdir
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
    {"EPERM", EPERM},           {"ENOENT", ENOENT}, {"EIO", EIO},       {"EAGAIN", EAGAIN},
    {"ENOMEM", ENOMEM},         {"EACCES", EACCES}, {"EBUSY", EBUSY},   {"EEXIST", EEXIST},
    {"ENODEV", ENODEV},         {"EINVAL", EINVAL}, {"ENOSPC", ENOSPC}, {"EUSERS", EUSERS},
    {"ERANGE", ERANGE},         {"ENXIO", ENXIO},   {"EINTR", EINTR},   {"E2BIG", E2BIG},
    {"EOPNOTSUPP", EOPNOTSUPP},
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

// --- PCI: the kernel's parsing of the NUL-terminated buffer sysfs hands a store ---

constexpr std::size_t kPageSize = 4096;  // kernfs passes at most one page to a store

// What a store sees: sysfs NUL-terminates the written bytes, so an embedded NUL ends the string.
std::string_view as_cstr(std::string_view buf) {
  return buf.substr(0, std::min(buf.size(), buf.find('\0')));
}

// The kernel's kstrtoull(s, base): an optional '+', _parse_integer_fixup_radix() (base 0: "0x"
// followed by a hex digit is hex, a leading 0 octal, else decimal), at least one digit, then one
// optional '\n' and nothing else. Returns 0, EINVAL or ERANGE (overflow or above `max`).
int kstrtoull(std::string_view buf, unsigned base, unsigned long long max,
              unsigned long long* result) {
  std::string s(as_cstr(buf));
  s.append(3, '\0');  // room for the look-ahead below
  std::size_t i = 0;
  if (s[i] == '+') ++i;
  const auto lower = [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); };
  if (base == 0) {
    if (s[i] == '0')
      base = lower(s[i + 1]) == 'x' && is_hex(s[i + 2]) ? 16 : 8;
    else
      base = 10;
  }
  if (base == 16 && s[i] == '0' && lower(s[i + 1]) == 'x') i += 2;
  unsigned long long value = 0;
  std::size_t digits = 0;
  bool overflow = false;
  for (;; ++i, ++digits) {
    const char c = lower(s[i]);
    unsigned digit = 0;
    if (c >= '0' && c <= '9')
      digit = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      digit = static_cast<unsigned>(c - 'a' + 10);
    else
      break;
    if (digit >= base) break;
    if (value > (~0ULL - digit) / base) overflow = true;
    value = value * base + digit;
  }
  if (overflow) return ERANGE;
  if (digits == 0) return EINVAL;
  if (s[i] == '\n') ++i;
  if (s[i] != '\0') return EINVAL;
  if (value > max) return ERANGE;
  *result = value;
  return 0;
}

// The kernel's kstrtobool() (with 5.19's "true"/"false"): only the first one or two characters
// count. Returns 0 or EINVAL.
int kstrtobool(std::string_view buf, bool* result) {
  std::string s(as_cstr(buf));
  s.append(2, '\0');
  const auto one_of = [](char c, std::string_view set) { return set.find(c) != set.npos; };
  if (one_of(s[0], "yYtT1")) return *result = true, 0;
  if (one_of(s[0], "nNfF0")) return *result = false, 0;
  if (one_of(s[0], "oO") && one_of(s[1], "nN")) return *result = true, 0;
  if (one_of(s[0], "oO") && one_of(s[1], "fF")) return *result = false, 0;
  return EINVAL;
}

// The kernel's sysfs_streq(): equal, or equal but for one trailing '\n' on either side.
bool sysfs_streq(std::string_view a, std::string_view b) {
  a = as_cstr(a);
  b = as_cstr(b);
  if (a == b) return true;
  if (b.size() == a.size() + 1 && b.back() == '\n' && b.substr(0, a.size()) == a) return true;
  return a.size() == b.size() + 1 && a.back() == '\n' && a.substr(0, b.size()) == b;
}

struct Bdf {
  unsigned domain = 0, bus = 0, devfn = 0;
  std::string name() const {
    // Sized for any unsigned values (GCC checks the worst case), not just valid addresses.
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%u", domain, bus, devfn >> 3, devfn & 7);
    return buf;
  }
};

Bdf parse_bdf(const std::string& name) {
  if (!looks_like_pci(name)) throw std::runtime_error("bad PCI address " + name);
  Bdf b;
  b.domain = static_cast<unsigned>(std::stoul(name.substr(0, 4), nullptr, 16));
  b.bus = static_cast<unsigned>(std::stoul(name.substr(5, 2), nullptr, 16));
  const auto slot = std::stoul(name.substr(8, 2), nullptr, 16);
  const auto fn = std::stoul(name.substr(11, 1), nullptr, 16);
  if (slot > 0x1f || fn > 7) throw std::runtime_error("bad PCI address " + name);
  b.devfn = static_cast<unsigned>(slot << 3 | fn);
  return b;
}

// A PCI ID from the config: "0x1b36", "1b36" or a number.
unsigned parse_id(const json& value) {
  if (value.is_number_unsigned()) return value.get<unsigned>();
  const std::string text = value.get<std::string>();
  std::size_t used = 0;
  const unsigned long id = std::stoul(text, &used, 16);
  if (used != text.size()) throw std::runtime_error("bad PCI id " + text);
  return static_cast<unsigned>(id);
}

std::string hex_text(unsigned value, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*x\n", digits, value);
  return buf;
}

const std::string kVfioPci = "vfio-pci";
const std::string kNvidia = "nvidia";

struct VgpuType {
  int id = 0;
  std::string name;
  int max = 0;  // VFs of one PF that may have this type at once; 0: never creatable
};

struct Sriov {
  unsigned totalvfs = 0, offset = 0, stride = 0, vf_device = 0;
  std::string vf_driver;
  unsigned numvfs = 0;
  bool autoprobe = true;
};

struct PciDevice {
  std::string address;
  std::string dir;  // relative to the mount root
  unsigned vendor = 0, device = 0, pci_class = 0;
  std::string native;                    // the driver whose ID table matches ("" for none)
  std::optional<std::string> driver;     // bound driver
  std::optional<std::string> override_;  // driver_override
  int group = 0;
  bool in_use = false;               // held by a VFIO user (control pci-in-use)
  std::optional<Sriov> sriov;        // a PF
  std::vector<VgpuType> vgpu_types;  // a PF: NVIDIA vGPU types offered on its VFs
  std::string physfn;                // a VF: its PF's address
  int vgpu_type = 0;                 // an NVIDIA VF: current_vgpu_type
  std::string vgpu_params;
};

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
    for (const auto& p : config.value("parents", json::array())) add_parent(p);
    // Before the mdev devices: PCI devices keep the IOMMU groups the config gives them.
    if (config.contains("pci")) add_pci(config.at("pci"));
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
    for (int group : pci_nodes_) {
      std::error_code ec;
      fs::remove(vfio_node(group), ec);
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
      case Role::pci:
        return pci_content(n);
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

  // A write armed by `fail-write NAME`: the errno this write to a file called `name` fails with, or
  // 0.
  int take_fail_write(const std::string& name) {
    auto it = fail_write_.find(name);
    if (it == fail_write_.end() || it->second.empty()) return 0;
    const int error = it->second.front();
    it->second.pop_front();
    return error;
  }

  // A write to a PCI attribute (of a device, a driver or bus/pci): the errno, or 0. `buf` is at
  // most one page, as kernfs passes it.
  int write_pci(const Node& n, std::string_view buf) {
    const int error = store_pci(n, buf);
    if (error == 0) ++pci_writes_;
    return error;
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
      } else if (w[0] == "fail-write" && (w.size() == 3 || w.size() == 4)) {
        const int error = parse_errno(w[2]);
        for (int i = 0, n = w.size() == 4 ? std::stoi(w[3]) : 1; i < n; ++i)
          fail_write_[w[1]].push_back(error);
      } else if (w[0] == "pci-in-use" && w.size() == 3 && (w[2] == "on" || w[2] == "off")) {
        auto it = pci_.find(w[1]);
        if (it == pci_.end()) return ENOENT;
        it->second.in_use = w[2] == "on";
      } else if (w[0] == "set-driver" && w.size() == 3) {
        auto it = pci_.find(w[1]);
        if (it == pci_.end() || (w[2] != "none" && !pci_drivers_.count(w[2]))) return ENOENT;
        if (it->second.driver != w[2]) {  // another admin: no matching, no probe, no waiting
          unbind(it->second);
          if (w[2] != "none") bind(it->second, w[2]);
        }
      } else if (w[0] == "vfio-nodes" && w.size() == 2 && (w[1] == "viable" || w[1] == "any")) {
        vfio_nodes_any_ = w[1] == "any";
        sync_vfio_nodes();
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
    if (dev_nodes_) make_vfio_node(group);
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

  // --- PCI ---

  static std::string pci_root(const std::string& address) {
    return "devices/pci" + address.substr(0, 4) + ":00";
  }

  // pci_iov_virtfn_bus()/_devfn(): routing id + offset + k * stride, the function number carrying
  // into the device number and the device number into the bus. None past bus ff.
  static std::optional<std::string> vf_address(const PciDevice& pf, unsigned k) {
    Bdf b = parse_bdf(pf.address);
    const unsigned devfn = b.devfn + pf.sriov->offset + pf.sriov->stride * k;
    b.bus += devfn >> 8;
    b.devfn = devfn & 0xff;
    if (b.bus > 0xff) return std::nullopt;
    return b.name();
  }

  void add_pci(const json& config) {
    pci_group_base_ = config.value("iommu_group_base", 40);
    const std::string nodes = config.value("vfio_nodes", std::string("viable"));
    if (nodes != "viable" && nodes != "any") throw std::runtime_error("bad vfio_nodes " + nodes);
    vfio_nodes_any_ = nodes == "any";
    mkdir_p("bus/pci/drivers");
    add_pci_attr("bus/pci", "drivers_probe", "", 0200);
    for (const auto& name : config.value("drivers", json::array())) {
      const std::string driver = name.get<std::string>();
      pci_drivers_.insert(driver);
      add_pci_attr("bus/pci/drivers/" + driver, "bind", driver, 0200);
      add_pci_attr("bus/pci/drivers/" + driver, "unbind", driver, 0200);
    }
    const json devices = config.value("devices", json::array());
    // Given groups first: a device without one never takes a number another device is given.
    for (const auto& dc : devices)
      if (dc.contains("iommu_group")) groups_.insert(dc.at("iommu_group").get<int>());
    std::set<std::string> addresses;  // of every device and every VF it may have
    std::vector<std::pair<std::string, std::optional<std::string>>> bound;
    for (const auto& dc : devices) {
      PciDevice d;
      d.address = dc.at("address").get<std::string>();
      for (char& c : d.address) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      parse_bdf(d.address);
      d.vendor = parse_id(dc.at("vendor"));
      d.device = parse_id(dc.at("device"));
      d.pci_class = parse_id(dc.value("class", json("0x000000")));
      d.native = dc.value("driver", std::string());
      d.group = dc.contains("iommu_group") ? dc.at("iommu_group").get<int>() : alloc_group();
      if (dc.contains("driver_override") && !dc.at("driver_override").is_null())
        d.override_ = dc.at("driver_override").get<std::string>();
      if (dc.contains("sriov")) {
        const json& sc = dc.at("sriov");
        Sriov s;
        s.totalvfs = sc.at("totalvfs").get<unsigned>();
        s.offset = sc.value("offset", 1U);
        s.stride = sc.value("stride", 1U);
        s.vf_device = sc.contains("vf_device") ? parse_id(sc.at("vf_device")) : d.device;
        s.vf_driver = sc.value("vf_driver", d.native);
        const json autoprobe = sc.value("autoprobe", json(1));
        s.autoprobe = autoprobe.is_boolean() ? autoprobe.get<bool>() : autoprobe.get<int>() != 0;
        d.sriov = s;
      }
      for (const auto& tc : dc.value("nvidia_vgpu_types", json::array()))
        d.vgpu_types.push_back(
            {tc.at("id").get<int>(), tc.at("name").get<std::string>(), tc.value("max", 1)});
      if (!d.vgpu_types.empty() && !d.sriov)
        throw std::runtime_error(d.address + ": nvidia_vgpu_types need sriov");
      if (!addresses.insert(d.address).second)
        throw std::runtime_error("PCI address " + d.address + " twice");
      for (unsigned k = 0; d.sriov && k < d.sriov->totalvfs; ++k) {
        const auto vf = vf_address(d, k);
        if (!vf) throw std::runtime_error(d.address + ": VF " + std::to_string(k) + " past bus ff");
        if (!addresses.insert(*vf).second)
          throw std::runtime_error(d.address + ": VF " + *vf + " overlaps another device");
      }
      // A PCI device at an mdev parent's address describes that parent: same directory.
      auto parent = parents_.find(d.address);
      d.dir =
          parent != parents_.end() ? parent->second.path : pci_root(d.address) + "/" + d.address;
      std::optional<std::string> driver;
      if (pci_drivers_.count(d.native)) driver = d.native;
      if (dc.contains("bound"))
        driver = dc.at("bound").is_null() ? std::nullopt
                                          : std::optional(dc.at("bound").get<std::string>());
      if (driver && !pci_drivers_.count(*driver))
        throw std::runtime_error(d.address + ": driver " + *driver + " is not in drivers");
      bound.emplace_back(d.address, driver);
      PciDevice& ref = pci_[d.address] = std::move(d);
      add_device_tree(ref);
    }
    // Then as at boot: drivers bind, and a PF's configured numvfs are enabled.
    for (std::size_t i = 0; i < devices.size(); ++i) {
      PciDevice& d = pci_.at(bound[i].first);
      if (bound[i].second) bind(d, *bound[i].second);
      const unsigned numvfs =
          devices[i].contains("sriov") ? devices[i].at("sriov").value("numvfs", 0U) : 0U;
      if (numvfs > d.sriov->totalvfs) throw std::runtime_error(d.address + ": numvfs > totalvfs");
      if (numvfs > 0) enable_vfs(d, numvfs);
    }
  }

  int alloc_group() const {
    int group = pci_group_base_;
    while (groups_.count(group)) ++group;
    return group;
  }

  Node& add_pci_attr(const std::string& dir, const std::string& name, const std::string& key,
                     mode_t mode) {
    Node& n = add_text(dir, name, "", mode);
    n.role = Role::pci;
    n.pci_key = key;
    return n;
  }

  // The device's directory, attributes and links, as pci_device_add() and sysfs make them.
  void add_device_tree(const PciDevice& d) {
    mkdir_p(d.dir);
    add_text(d.dir, "vendor", hex_text(d.vendor, 4));
    add_text(d.dir, "device", hex_text(d.device, 4));
    add_text(d.dir, "class", hex_text(d.pci_class, 6));
    add_pci_attr(d.dir, "driver_override", d.address, 0644);
    if (!walk(d.dir + "/subsystem")) add_link(d.dir + "/subsystem", "bus/pci");
    const std::string group_dir = "kernel/iommu_groups/" + std::to_string(d.group);
    add_link(d.dir + "/iommu_group", group_dir);
    add_link(group_dir + "/devices/" + d.address, d.dir);
    if (!walk(group_dir + "/type")) add_text(group_dir, "type", "DMA\n");
    groups_.insert(d.group);
    pci_groups_[d.group].insert(d.address);
    if (!walk("bus/pci/devices/" + d.address)) add_link("bus/pci/devices/" + d.address, d.dir);
    if (d.sriov) {
      add_text(d.dir, "sriov_totalvfs", std::to_string(d.sriov->totalvfs) + "\n");
      add_text(d.dir, "sriov_offset", std::to_string(d.sriov->offset) + "\n");
      add_text(d.dir, "sriov_stride", std::to_string(d.sriov->stride) + "\n");
      char vf_device[16];  // sriov_vf_device_show(): "%x\n", no 0x, unlike `device`
      std::snprintf(vf_device, sizeof vf_device, "%x\n", d.sriov->vf_device);
      add_text(d.dir, "sriov_vf_device", vf_device);
      add_pci_attr(d.dir, "sriov_numvfs", d.address, 0644);
      add_pci_attr(d.dir, "sriov_drivers_autoprobe", d.address, 0644);
    }
    if (!d.physfn.empty()) add_link(d.dir + "/physfn", pci_.at(d.physfn).dir);
  }

  void leave_group(const PciDevice& d) {
    const std::string group_dir = "kernel/iommu_groups/" + std::to_string(d.group);
    remove_path(group_dir + "/devices/" + d.address);
    auto& members = pci_groups_[d.group];
    members.erase(d.address);
    if (!members.empty()) return;
    pci_groups_.erase(d.group);
    groups_.erase(d.group);
    remove_path(group_dir);
  }

  // sriov_enable(): each VF is added and probed in turn (pci_iov_add_virtfn()).
  void enable_vfs(PciDevice& pf, unsigned n) {
    pf.sriov->numvfs = n;
    for (unsigned k = 0; k < n; ++k) {
      PciDevice vf;
      vf.address = *vf_address(pf, k);
      vf.dir = pci_root(vf.address) + "/" + vf.address;
      vf.vendor = pf.vendor;
      vf.device = pf.sriov->vf_device;
      vf.pci_class = pf.pci_class;
      vf.native = pf.sriov->vf_driver;
      vf.physfn = pf.address;
      vf.group = alloc_group();
      PciDevice& ref = pci_[vf.address] = std::move(vf);
      add_device_tree(ref);
      add_link(pf.dir + "/virtfn" + std::to_string(k), ref.dir);
      if (const auto driver = attach_driver(ref)) bind(ref, *driver);
    }
    sync_vfio_nodes();
  }

  // sriov_disable(): every VF is unbound and removed, with its group and links.
  void disable_vfs(PciDevice& pf) {
    for (unsigned k = pf.sriov->numvfs; k-- > 0;) {
      const std::string address = *vf_address(pf, k);
      remove_path(pf.dir + "/virtfn" + std::to_string(k));
      auto it = pci_.find(address);
      if (it == pci_.end()) continue;
      unbind(it->second);
      remove_path("bus/pci/devices/" + address);
      leave_group(it->second);
      remove_path(it->second.dir);
      pci_.erase(it);
    }
    pf.sriov->numvfs = 0;
    sync_vfio_nodes();
  }

  std::vector<const PciDevice*> vfs_of(const PciDevice& pf) const {
    std::vector<const PciDevice*> vfs;
    for (unsigned k = 0; pf.sriov && k < pf.sriov->numvfs; ++k)
      if (auto it = pci_.find(*vf_address(pf, k)); it != pci_.end()) vfs.push_back(&it->second);
    return vfs;
  }

  // Held by a VFIO user (qemu has the group open): pci-in-use while the device is on vfio-pci or
  // has a vGPU type.
  static bool held(const PciDevice& d) {
    return d.in_use && (d.driver == kVfioPci || d.vgpu_type != 0);
  }

  bool any_vf_held(const PciDevice& pf) const {
    for (const PciDevice* vf : vfs_of(pf))
      if (held(*vf)) return true;
    return false;
  }

  bool is_nvidia_vf(const PciDevice& d) const {
    return !d.physfn.empty() && !pci_.at(d.physfn).vgpu_types.empty();
  }

  PciDevice* find_pci(std::string_view name) {  // bus_find_device_by_name()
    for (auto& [address, d] : pci_)
      if (sysfs_streq(address, name)) return &d;
    return nullptr;
  }

  // pci_match_device(): with driver_override set only the driver of that name matches (any device,
  // through pci_device_id_any); otherwise the driver's ID table: the device's own driver, and (a
  // simplification: the real one needs new_id) vfio-pci for any device.
  static bool driver_matches(const std::string& driver, const PciDevice& d) {
    if (d.override_) return *d.override_ == driver;
    return driver == kVfioPci || driver == d.native;
  }

  // The driver's probe(): vfio-pci takes any device, every other driver only its own hardware.
  static bool probe_succeeds(const std::string& driver, const PciDevice& d) {
    return driver == kVfioPci || driver == d.native;
  }

  // pci_device_can_probe(): a VF is probed (by any driver, even through bind) only while its PF's
  // sriov_drivers_autoprobe is 1 or its own driver_override is set.
  bool can_probe(const PciDevice& d) const {
    return d.physfn.empty() || d.override_ || pci_.at(d.physfn).sriov->autoprobe;
  }

  // device_attach(): the driver a probe of an unbound device binds it to, if any. Here vfio-pci
  // matches only through driver_override, as the real one (no IDs of its own) does.
  std::optional<std::string> attach_driver(const PciDevice& d) const {
    if (!can_probe(d)) return std::nullopt;
    const std::string driver = d.override_ ? *d.override_ : d.native;
    if (driver.empty() || !pci_drivers_.count(driver) || !probe_succeeds(driver, d))
      return std::nullopt;
    return driver;
  }

  void bind(PciDevice& d, const std::string& driver) {
    d.driver = driver;
    add_link(d.dir + "/driver", "bus/pci/drivers/" + driver);
    add_link("bus/pci/drivers/" + driver + "/" + d.address, d.dir);
    if (driver == kNvidia && is_nvidia_vf(d)) {  // the nvidia driver's own attribute group
      add_pci_attr(d.dir + "/nvidia", "creatable_vgpu_types", d.address, 0444);
      add_pci_attr(d.dir + "/nvidia", "current_vgpu_type", d.address, 0644);
      add_pci_attr(d.dir + "/nvidia", "vgpu_params", d.address, 0644);
    }
    sync_vfio_nodes();
  }

  void unbind(PciDevice& d) {
    if (!d.driver) return;
    const std::string driver = *d.driver;
    remove_path(d.dir + "/driver");
    remove_path("bus/pci/drivers/" + driver + "/" + d.address);
    remove_path(d.dir + "/nvidia");
    d.driver.reset();
    d.vgpu_type = 0;
    d.vgpu_params.clear();
    // vfio_pci_core_unregister_device() disables SR-IOV; other PF drivers may leave VFs enabled
    // (pci_iov_remove() only warns).
    if (driver == kVfioPci && d.sriov && d.sriov->numvfs > 0) disable_vfs(d);
    sync_vfio_nodes();
  }

  void make_vfio_node(int group) {
    std::error_code ec;
    fs::create_directories(dev_root_ / "vfio", ec);
    std::ofstream(vfio_node(group)).flush();
    fs::permissions(vfio_node(group), fs::perms::owner_read | fs::perms::owner_write, ec);
  }

  // <dev>/vfio/<group> of the PCI groups: present while every device of the group is on vfio-pci
  // or is an NVIDIA VF with a vGPU type ("viable"), or while any one is ("any", the kernel's rule
  // for when the group's char device exists).
  void sync_vfio_nodes() {
    std::set<int> want;
    for (const auto& [group, members] : pci_groups_) {
      bool all = true, any = false;
      for (const std::string& address : members) {
        const PciDevice& d = pci_.at(address);
        const bool vfio = d.driver == kVfioPci || d.vgpu_type != 0;
        // A PCI bridge beside them does not make a group unviable (pcieport manages its own DMA).
        const bool bridge = (d.pci_class >> 8) == 0x0604;
        all = all && (vfio || bridge);
        any = any || vfio;
      }
      if (any && (vfio_nodes_any_ || all)) want.insert(group);
    }
    for (auto it = pci_nodes_.begin(); it != pci_nodes_.end();) {
      if (want.count(*it)) {
        ++it;
        continue;
      }
      std::error_code ec;
      fs::remove(vfio_node(*it), ec);
      it = pci_nodes_.erase(it);
    }
    if (!dev_nodes_) return;  // udev never delivers
    for (int group : want)
      if (pci_nodes_.insert(group).second) make_vfio_node(group);
  }

  std::string pci_content(const Node& n) const {
    auto it = pci_.find(n.pci_key);
    if (it == pci_.end()) return "";
    const PciDevice& d = it->second;
    if (n.name == "driver_override") return (d.override_ ? *d.override_ : "(null)") + "\n";
    if (n.name == "sriov_numvfs") return std::to_string(d.sriov->numvfs) + "\n";
    if (n.name == "sriov_drivers_autoprobe") return d.sriov->autoprobe ? "1\n" : "0\n";
    if (n.name == "current_vgpu_type") return std::to_string(d.vgpu_type) + "\n";
    if (n.name == "vgpu_params") return d.vgpu_params + "\n";
    if (n.name == "creatable_vgpu_types") return creatable_text(d);
    return "";
  }

  int store_pci(const Node& n, std::string_view buf) {
    if (n.name == "bind") return store_bind(n.pci_key, buf);
    if (n.name == "unbind") return store_unbind(n.pci_key, buf);
    if (n.name == "drivers_probe") return store_drivers_probe(buf);
    auto it = pci_.find(n.pci_key);
    if (it == pci_.end()) return ENODEV;
    PciDevice& d = it->second;
    if (n.name == "driver_override") return store_driver_override(d, buf);
    if (n.name == "sriov_numvfs") return store_numvfs(d, buf);
    if (n.name == "sriov_drivers_autoprobe") return store_autoprobe(d, buf);
    if (n.name == "current_vgpu_type") return store_vgpu_type(d, buf);
    if (n.name == "vgpu_params") return store_vgpu_params(d, buf);
    return EACCES;
  }

  // driver_set_override(): a page-long value is EINVAL; the value ends at the first '\n'; an empty
  // string (or one starting with NUL) or one starting with '\n' clears the override.
  static int store_driver_override(PciDevice& d, std::string_view buf) {
    if (buf.size() >= kPageSize - 1) return EINVAL;
    const std::string_view s = as_cstr(buf);
    const std::size_t newline = s.find('\n');
    if (s.empty() || newline == 0)
      d.override_.reset();
    else
      d.override_ = std::string(s.substr(0, newline));
    return 0;
  }

  // sriov_numvfs_store(), in the kernel's order of checks.
  int store_numvfs(PciDevice& pf, std::string_view buf) {
    unsigned long long n = 0;
    if (kstrtoull(buf, 0, 0xffff, &n) != 0) return EINVAL;  // kstrtou16: any failure is EINVAL
    Sriov& iov = *pf.sriov;
    if (n > iov.totalvfs) return ERANGE;
    if (n == iov.numvfs) return 0;
    if (!pf.driver) return ENOENT;  // "no driver bound to device; cannot configure SR-IOV"
    // Only the PF's own driver has sriov_configure; vfio-pci's refuses (enable_sriov=N): ENOENT.
    if (*pf.driver != pf.native || pf.native == kVfioPci) return ENOENT;
    if (n == 0) {
      if (any_vf_held(pf)) return EBUSY;  // the kernel blocks until the VFIO user lets go
      disable_vfs(pf);
      return 0;
    }
    if (iov.numvfs != 0) return EBUSY;  // "already enabled. Disable before enabling"
    enable_vfs(pf, static_cast<unsigned>(n));
    return 0;
  }

  static int store_autoprobe(PciDevice& pf, std::string_view buf) {
    bool value = false;
    if (kstrtobool(buf, &value) != 0) return EINVAL;
    pf.sriov->autoprobe = value;
    return 0;
  }

  // bind_store(): find the device, match, then __driver_probe_device() (EBUSY if bound), probe.
  int store_bind(const std::string& driver, std::string_view buf) {
    PciDevice* d = find_pci(buf);
    if (!d || !driver_matches(driver, *d)) return ENODEV;
    if (d->driver) return EBUSY;
    if (!can_probe(*d) || !probe_succeeds(driver, *d)) return ENODEV;
    bind(*d, driver);
    return 0;
  }

  // unbind_store(): ENODEV unless the device is bound to this driver.
  int store_unbind(const std::string& driver, std::string_view buf) {
    PciDevice* d = find_pci(buf);
    if (!d || d->driver != driver) return ENODEV;
    // The kernel blocks in vfio's remove until the VFIO user lets go; we answer EBUSY.
    if (held(*d) || (driver == kVfioPci && d->sriov && any_vf_held(*d))) return EBUSY;
    unbind(*d);
    return 0;
  }

  // drivers_probe_store(): ENODEV for an unknown device; otherwise success, bound or not.
  int store_drivers_probe(std::string_view buf) {
    PciDevice* d = find_pci(buf);
    if (!d) return ENODEV;
    if (!d->driver)
      if (const auto driver = attach_driver(*d)) bind(*d, *driver);
    return 0;
  }

  // A type is creatable on an NVIDIA VF without a type when fewer than `max` VFs of the PF have it
  // and no VF of the PF has another type (homogeneous mode).
  bool creatable(const PciDevice& vf, const VgpuType& t) const {
    if (vf.vgpu_type != 0 || t.max <= 0) return false;
    int same = 0;
    for (const PciDevice* other : vfs_of(pci_.at(vf.physfn))) {
      if (other->vgpu_type == t.id)
        ++same;
      else if (other->vgpu_type != 0)
        return false;
    }
    return same < t.max;
  }

  std::string creatable_text(const PciDevice& vf) const {
    std::string out = "ID    : vGPU Name\n";
    for (const VgpuType& t : pci_.at(vf.physfn).vgpu_types) {
      if (t.id != vf.vgpu_type && !creatable(vf, t)) continue;
      char id[32];
      std::snprintf(id, sizeof id, "%-5d : ", t.id);
      out += id + t.name + "\n";
    }
    return out;
  }

  int store_vgpu_type(PciDevice& vf, std::string_view buf) {
    unsigned long long id = 0;
    if (kstrtoull(buf, 0, 0x7fffffff, &id) != 0) return EINVAL;
    if (id == 0) {
      if (vf.vgpu_type != 0 && vf.in_use) return EBUSY;
      vf.vgpu_type = 0;
      sync_vfio_nodes();
      return 0;
    }
    const auto& types = pci_.at(vf.physfn).vgpu_types;
    const auto t = std::find_if(types.begin(), types.end(),
                                [&](const VgpuType& v) { return v.id == static_cast<int>(id); });
    if (t == types.end()) return EINVAL;
    if (vf.vgpu_type == t->id) return 0;
    if (vf.vgpu_type != 0) return EBUSY;
    if (!creatable(vf, *t)) return EINVAL;
    vf.vgpu_type = t->id;
    sync_vfio_nodes();
    return 0;
  }

  static int store_vgpu_params(PciDevice& vf, std::string_view buf) {
    if (vf.vgpu_type != 0) return EBUSY;  // they apply when the type is set
    std::string s(as_cstr(buf));
    if (!s.empty() && s.back() == '\n') s.pop_back();
    vf.vgpu_params = s;
    return 0;
  }

  json pci_status() const {
    json devices = json::array();
    for (const auto& [address, d] : pci_) {
      json e = {{"address", address},
                {"driver", d.driver ? json(*d.driver) : json(nullptr)},
                {"driver_override", d.override_ ? json(*d.override_) : json(nullptr)},
                {"iommu_group", d.group},
                {"in_use", d.in_use}};
      if (d.sriov) {
        e["numvfs"] = d.sriov->numvfs;
        e["autoprobe"] = d.sriov->autoprobe ? 1 : 0;
      }
      if (!d.physfn.empty()) e["physfn"] = d.physfn;
      if (is_nvidia_vf(d)) e["vgpu_type"] = d.vgpu_type;
      devices.push_back(std::move(e));
    }
    return devices;
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
    return {{"creates", creates_}, {"removes", removes_}, {"pending_removes", pending},
            {"devices", devices},  {"pci", pci_status()}, {"pci_writes", pci_writes_}};
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
  // PCI
  std::map<std::string, PciDevice> pci_;             // by address
  std::set<std::string> pci_drivers_;                // configured drivers
  std::map<int, std::set<std::string>> pci_groups_;  // IOMMU group -> device addresses
  std::set<int> pci_nodes_;                          // <dev>/vfio/<group> made for PCI groups
  int pci_group_base_ = 40;
  bool vfio_nodes_any_ = false;
  std::map<std::string, std::deque<int>> fail_write_;  // by file name
  long pci_writes_ = 0;
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
  if (writing && g_fake->deny_writes() &&
      (n->role == Role::create || n->role == Role::remove || n->role == Role::pci))
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
  if (n->role != Role::control)
    if (const int error = g_fake->take_fail_write(n->name)) return (void)fuse_reply_err(req, error);
  if (n->role == Role::pci) size = std::min(size, kPageSize);  // kernfs: one page per store
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
    case Role::pci:
      error = g_fake->write_pci(*n, data);
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
