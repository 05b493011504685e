#include "profile/profile_loader.hpp"

#include <cctype>
#include <regex>
#include <set>
#include <vector>

#include "base/did_you_mean.hpp"
#include "base/error.hpp"
#include "base/pci_address.hpp"
#include "base/text.hpp"
#include "base/uuid.hpp"
#include "profile/json_source.hpp"
#include "profile/profile_choices.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> kTopKeys = {
    "$schema", "name",  "description", "extends",  "machine", "mdevs",  "slices",
    "display", "disks", "network",     "firmware", "kernel",  "serial", "devices",
    "qemu",    "tpm",   "shares",      "usb",      "audio",   "cdrom",  "boot"};
const std::vector<std::string> kMachineKeys = {"type", "accel", "cpu", "cpus", "memory"};
const std::vector<std::string> kMdevKeys = {
    "id", "parent", "type", "uuid", "display", "rombar", "ramfb", "x-igd-opregion", "vm-uuid"};
const std::vector<std::string> kSliceMechanisms = {"mdev", "vf", "nvidia-vgpu", "pci"};
const std::vector<std::string> kVfKeys = {"id",        "mechanism", "pf", "pf-vendor-device",
                                          "pf-driver", "numvfs",    "vf", "display",
                                          "ramfb",     "rombar"};
const std::vector<std::string> kNvidiaKeys = {"id",        "mechanism", "pf",    "pf-vendor-device",
                                              "pf-driver", "numvfs",    "vf",    "vgpu-type",
                                              "display",   "ramfb",     "rombar"};
const std::vector<std::string> kPciKeys = {"id",      "mechanism", "address",
                                           "display", "ramfb",     "rombar"};
const std::vector<std::string> kDisplayKeys = {"backend", "gl", "rendernode", "listen", "agent"};
const std::vector<std::string> kDiskKeys = {"file", "format", "interface", "read-only", "snapshot"};
const std::vector<std::string> kNetworkKeys = {"mode",    "model",  "mac",
                                               "hostfwd", "bridge", "ifname"};
const std::vector<std::string> kFirmwareKeys = {"type", "code", "vars-template", "vars",
                                                "secure-boot"};
const std::vector<std::string> kTpmKeys = {"model"};
const std::vector<std::string> kShareKeys = {"source", "tag", "read-only"};
const std::vector<std::string> kUsbKeys = {"redirect", "host"};
const std::vector<std::string> kUsbHostKeys = {"vendor-product", "bus", "port"};
const std::vector<std::string> kAudioKeys = {"backend"};
// virtio-fs: the tag field of the device's config space is 36 bytes.
constexpr std::size_t kMaxShareTag = 36;
// More redirection channels than a USB 3 controller's ports make qemu fail at start.
constexpr int kMaxUsbRedirect = 8;
const std::vector<std::string> kKernelKeys = {"image", "initrd", "append"};
const std::vector<std::string> kSerialKeys = {"mode", "path"};
// Device properties whose value is the id of something else on the command line.
const std::set<std::string> kIdReferences = {"bus", "chardev", "netdev", "drive", "audiodev"};
const std::vector<std::string> kDeviceKeys = {"id", "driver", "properties", "slot"};
const std::vector<std::string> kQemuKeys = {"binary", "args"};

// Debian 12's OVMF (package ovmf); 4M images are the ones Debian ships by default.
constexpr const char* kOvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
constexpr const char* kOvmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
// Secure boot: the SMM build (.ms.fd links to .secboot.fd) and vars with Microsoft's keys
// enrolled, which Windows 11 and shim-signed Linux installers boot with.
constexpr const char* kOvmfSecureCode = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd";
constexpr const char* kOvmfSecureVars = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";

std::string shown(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string kind(const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += i + 1 == items.size() ? " or " : ", ";
    out += "\"" + items[i] + "\"";
  }
  return out;
}

// A plain sysfs directory name: what can safely be joined to a sysfs path.
bool is_sysfs_name(const std::string& s) {
  if (s.empty() || s.size() > 255 || s == "." || s == "..") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == '_' ||
          c == '-'))
      return false;
  return true;
}

bool is_name(const std::string& s) {
  if (s.empty() || s.size() > 64 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

bool is_mac(const std::string& s) {
  if (s.size() != 17) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i % 3 == 2 ? s[i] != ':' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

class Checker {
 public:
  explicit Checker(const ProfileDocument& doc) : doc_(doc) {}

  void error(const std::string& ptr, const std::string& what) {
    const ValueOrigin& o = doc_.locate(ptr);
    errors_.push_back(o.file + ":" + std::to_string(o.line) + ": " + (ptr.empty() ? "/" : ptr) +
                      ": " + what);
  }
  const std::vector<std::string>& errors() const { return errors_; }

  // True when `v` is an object; reports unknown keys (with a suggestion) either way.
  bool object(const json& v, const std::string& ptr, const std::vector<std::string>& keys) {
    if (!v.is_object()) {
      error(ptr, "expected an object, got " + kind(v));
      return false;
    }
    for (const auto& [k, _] : v.items()) {
      if (std::find(keys.begin(), keys.end(), k) != keys.end()) continue;
      std::string msg = "unknown key \"" + k + "\"";
      if (auto guess = did_you_mean(k, keys)) {
        msg += "; did you mean \"" + *guess + "\"?";
      } else {
        msg += "; known keys: " + quoted_list(keys);
      }
      error(ptr + "/" + pointer_token(k), msg);
    }
    return true;
  }

  const json* member(const json& obj, const std::string& ptr, const char* key, bool required) {
    if (obj.contains(key)) return &obj[key];
    if (required) error(ptr, std::string("missing required key \"") + key + "\"");
    return nullptr;
  }

  std::optional<std::string> string(const json& obj, const std::string& ptr, const char* key,
                                    bool required = false) {
    const json* v = member(obj, ptr, key, required);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      error(ptr + "/" + key, "expected a string, got " + kind(*v));
      return std::nullopt;
    }
    return v->get<std::string>();
  }

  std::optional<bool> boolean(const json& obj, const std::string& ptr, const char* key) {
    const json* v = member(obj, ptr, key, false);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) {
      error(ptr + "/" + key, "expected true or false, got " + shown(*v));
      return std::nullopt;
    }
    return v->get<bool>();
  }

  std::optional<std::int64_t> integer(const json& obj, const std::string& ptr, const char* key,
                                      std::int64_t min, std::int64_t max) {
    const json* v = member(obj, ptr, key, false);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || v->get<std::int64_t>() < min || v->get<std::int64_t>() > max) {
      error(ptr + "/" + key, "expected a whole number from " + std::to_string(min) + " to " +
                                 std::to_string(max) + ", got " + shown(*v));
      return std::nullopt;
    }
    return v->get<std::int64_t>();
  }

  std::optional<std::string> one_of(const json& obj, const std::string& ptr, const char* key,
                                    const std::vector<std::string>& allowed,
                                    bool required = false) {
    auto s = string(obj, ptr, key, required);
    if (!s) return std::nullopt;
    if (std::find(allowed.begin(), allowed.end(), *s) != allowed.end()) return s;
    std::string msg = shown(json(*s)) + " is not one of " + quoted_list(allowed);
    if (auto guess = did_you_mean(*s, allowed)) msg += "; did you mean \"" + *guess + "\"?";
    error(ptr + "/" + key, msg);
    return std::nullopt;
  }

  // A fixed-choice option, spelled as its table in profile_choices says.
  template <typename E>
  std::optional<E> choice(const json& obj, const std::string& ptr, const char* key,
                          bool required = false) {
    auto s = one_of(obj, ptr, key, choice_spellings<E>(), required);
    return s ? parse_choice<E>(*s) : std::nullopt;
  }

  // A non-empty path; relative paths are relative to the profile file that wrote them.
  std::optional<fs::path> path(const json& obj, const std::string& ptr, const char* key,
                               bool required = false) {
    auto s = string(obj, ptr, key, required);
    if (!s) return std::nullopt;
    if (s->empty()) {
      error(ptr + "/" + key, "expected a file path, got an empty string");
      return std::nullopt;
    }
    fs::path p = *s;
    if (p.is_relative()) p = doc_.locate(ptr + "/" + key).dir / p;
    return p.lexically_normal();
  }

  // The elements of an array member, with their pointers; reports a non-array.
  std::vector<std::pair<const json*, std::string>> array(const json& obj, const std::string& ptr,
                                                         const char* key) {
    std::vector<std::pair<const json*, std::string>> out;
    const json* v = member(obj, ptr, key, false);
    if (!v) return out;
    if (!v->is_array()) {
      error(ptr + "/" + key, "expected an array, got " + kind(*v));
      return out;
    }
    for (std::size_t i = 0; i < v->size(); ++i)
      out.emplace_back(&(*v)[i], ptr + "/" + key + "/" + std::to_string(i));
    return out;
  }

 private:
  const ProfileDocument& doc_;
  std::vector<std::string> errors_;
};

class ProfileBuilder {
 public:
  explicit ProfileBuilder(const ProfileDocument& doc) : doc_(doc), c_(doc) {}

  Profile build() {
    const json& root = doc_.value;
    p_.file = doc_.file;
    c_.object(root, "", kTopKeys);
    if (auto name = c_.string(root, "", "name", true)) {
      if (is_name(*name)) {
        p_.name = *name;
      } else {
        c_.error("/name", shown(json(*name)) +
                              " is not a valid instance name; use 1-64 letters, digits, '.', "
                              "'_' or '-', starting with a letter or digit");
      }
    }
    c_.string(root, "", "description");
    if (const json* m = c_.member(root, "", "machine", false)) machine(*m, "/machine");
    for (const auto& [v, ptr] : c_.array(root, "", "mdevs")) mdev(*v, ptr);
    for (const auto& [v, ptr] : c_.array(root, "", "slices")) slice(*v, ptr);
    if (const json* d = c_.member(root, "", "display", false)) display(*d, "/display");
    for (const auto& [v, ptr] : c_.array(root, "", "disks")) disk(*v, ptr);
    for (const auto& [v, ptr] : c_.array(root, "", "network")) network(*v, ptr);
    if (const json* f = c_.member(root, "", "firmware", false)) firmware(*f, "/firmware");
    if (const json* k = c_.member(root, "", "kernel", false)) kernel(*k, "/kernel");
    if (const json* s = c_.member(root, "", "serial", false)) serial(*s, "/serial");
    for (const auto& [v, ptr] : c_.array(root, "", "devices")) device(*v, ptr);
    if (const json* q = c_.member(root, "", "qemu", false)) qemu(*q, "/qemu");
    if (const json* t = c_.member(root, "", "tpm", false)) tpm(*t, "/tpm");
    for (const auto& [v, ptr] : c_.array(root, "", "shares")) share(*v, ptr);
    if (const json* u = c_.member(root, "", "usb", false)) usb(*u, "/usb");
    if (const json* a = c_.member(root, "", "audio", false)) audio(*a, "/audio");
    p_.cdrom = c_.path(root, "", "cdrom");
    for (const auto& [v, ptr] : c_.array(root, "", "boot")) boot(*v, ptr);
    cross_checks();

    if (!c_.errors().empty()) {
      std::string all;
      for (const auto& e : c_.errors()) all += (all.empty() ? "" : "\n") + e;
      throw Error(ExitCode::usage, all);
    }
    return std::move(p_);
  }

 private:
  void id(const json& obj, const std::string& ptr, std::string& out) {
    auto v = c_.string(obj, ptr, "id", true);
    if (!v) return;
    if (!is_qemu_id(*v)) {
      c_.error(ptr + "/id", shown(json(*v)) +
                                " is not an id qemu accepts; start with a letter, then letters, "
                                "digits, '-', '.' or '_'");
    } else if (v->rfind("mdevrun-", 0) == 0) {
      c_.error(ptr + "/id", "ids starting with \"mdevrun-\" are reserved for devices mdevrun adds");
    } else if (!ids_.emplace(*v, ptr).second) {
      c_.error(ptr + "/id", "duplicate id \"" + *v + "\" (also used at " + ids_[*v] +
                                "); every mdev and device needs its own id");
    }
    out = *v;
  }

  // An mdev's or slice's "display": a boolean or "on"/"off"/"auto".
  std::optional<OnOffAuto> display_switch(const json& v, const std::string& ptr) {
    const json* d = c_.member(v, ptr, "display", false);
    if (!d) return std::nullopt;
    if (d->is_boolean()) return d->get<bool>() ? OnOffAuto::on : OnOffAuto::off;
    if (*d == "on") return OnOffAuto::on;
    if (*d == "off") return OnOffAuto::off;
    if (*d == "auto") return OnOffAuto::automatic;
    c_.error(ptr + "/display",
             "expected true, false, \"on\", \"off\" or \"auto\", got " + shown(*d));
    return std::nullopt;
  }

  void machine(const json& m, const std::string& ptr) {
    if (!c_.object(m, ptr, kMachineKeys)) return;
    if (auto t = c_.choice<MachineType>(m, ptr, "type")) p_.machine.type = *t;
    if (auto a = c_.one_of(m, ptr, "accel", {"kvm", "tcg"})) p_.machine.accel = *a;
    if (auto cpu = c_.string(m, ptr, "cpu")) {
      if (is_name(*cpu)) {
        p_.machine.cpu = *cpu;
      } else {
        c_.error(ptr + "/cpu", shown(json(*cpu)) +
                                   " is not a CPU model name (e.g. \"host\", \"max\", "
                                   "\"Skylake-Client\"); add CPU flags through qemu.args");
      }
    }
    if (auto n = c_.integer(m, ptr, "cpus", 1, 1024)) p_.machine.cpus = static_cast<int>(*n);
    if (const json* mem = c_.member(m, ptr, "memory", false)) {
      std::optional<std::uint64_t> mib;
      if (mem->is_string()) mib = parse_size_mib(mem->get<std::string>());
      // The JSON reader yields integers as signed: ask for an integer, not an unsigned one.
      if (mem->is_number_integer() && mem->get<std::int64_t>() > 0)
        mib = static_cast<std::uint64_t>(mem->get<std::int64_t>());
      if (mib && *mib <= (std::uint64_t{1} << 30)) {
        p_.machine.memory_mib = *mib;
      } else {
        c_.error(ptr + "/memory", shown(*mem) +
                                      " is not a memory size; use a whole number of MiB or a "
                                      "size like \"512M\", \"4G\"");
      }
    }
    // The defaults of cpu follow accel: "host" needs KVM.
  }

  void mdev(const json& v, const std::string& ptr, bool in_slices = false) {
    MdevSpec m;
    std::vector<std::string> keys = kMdevKeys;
    if (in_slices) keys.push_back("mechanism");
    if (!c_.object(v, ptr, keys)) return;
    id(v, ptr, m.id);
    if (auto parent = c_.string(v, ptr, "parent")) {
      if (!is_sysfs_name(*parent)) {
        c_.error(ptr + "/parent",
                 shown(json(*parent)) +
                     " is not a sysfs device name; use the name under "
                     "/sys/class/mdev_bus, e.g. \"0000:00:02.0\" (no '/' or '..')");
      } else if (parent->find(':') != std::string::npos) {
        if (auto pci = normalize_pci_address(*parent)) {
          m.parent = *pci;
        } else {
          c_.error(ptr + "/parent",
                   shown(json(*parent)) +
                       " is not a PCI address; expected domain:bus:device.function "
                       "like \"0000:00:02.0\"");
        }
      } else {
        m.parent = *parent;
      }
    }
    if (auto type = c_.string(v, ptr, "type", true)) {
      if (is_sysfs_name(*type)) {
        m.type = *type;
      } else {
        c_.error(
            ptr + "/type",
            shown(json(*type)) + " is not an mdev type name; see `mdevrun types` (no '/' or '..')");
      }
    }
    if (auto uuid = c_.string(v, ptr, "uuid")) {
      if (auto norm = normalize_uuid(*uuid)) {
        m.uuid = *norm;
        if (!uuids_.emplace(*norm, ptr).second)
          c_.error(ptr + "/uuid", "UUID " + *norm + " is also used by " + uuids_[*norm] +
                                      "; each mdev needs its own UUID");
      } else {
        c_.error(ptr + "/uuid",
                 shown(json(*uuid)) +
                     " is not a UUID; expected 8-4-4-4-12 hex digits like "
                     "\"4dd50f26-ec08-11e8-b838-4bc3356865b6\" (`uuidgen` makes one)");
      }
    }
    if (auto d = display_switch(v, ptr)) m.display = *d;
    m.rombar = c_.boolean(v, ptr, "rombar");
    m.ramfb = c_.boolean(v, ptr, "ramfb").value_or(false);
    m.x_igd_opregion = c_.boolean(v, ptr, "x-igd-opregion").value_or(false);
    m.vm_uuid = c_.boolean(v, ptr, "vm-uuid").value_or(false);
    if (m.ramfb && m.display != OnOffAuto::on) {
      c_.error(ptr + "/ramfb",
               "ramfb needs \"display\": \"on\" on this mdev (ramfb shows the boot display "
               "through the mdev's display); note that ramfb uses vfio-pci-nohotplug, so such a "
               "device cannot be unplugged");
    }
    if (m.vm_uuid) vm_uuid_ptrs_.push_back(ptr + "/vm-uuid");
    p_.mdevs.push_back(std::move(m));
  }

  // slices[]: one element per device slice, named by its mechanism. "mdev" elements are mdevs
  // written here instead of in "mdevs" (same keys, same argv); the others are PCI functions.
  void slice(const json& v, const std::string& ptr) {
    if (!v.is_object()) {
      c_.object(v, ptr, kVfKeys);  // the usual "expected an object" message
      return;
    }
    auto mech = c_.one_of(v, ptr, "mechanism", kSliceMechanisms, true);
    if (!mech) return;
    if (*mech == "mdev") return mdev(v, ptr, true);
    SliceSpec s;
    s.mechanism = *parse_choice<SliceMechanism>(*mech);
    using enum SliceMechanism;
    const auto& keys = s.mechanism == vf            ? kVfKeys
                       : s.mechanism == nvidia_vgpu ? kNvidiaKeys
                                                    : kPciKeys;
    if (!c_.object(v, ptr, keys)) return;
    id(v, ptr, s.id);
    if (s.mechanism == pci) {
      if (auto a = c_.string(v, ptr, "address", true)) {
        if (auto norm = normalize_pci_address(*a)) {
          s.address = *norm;
          if (!addresses_.emplace(*norm, ptr).second)
            c_.error(ptr + "/address", "device " + *norm + " is also used by " + addresses_[*norm] +
                                           "; a device can go to a VM once");
        } else {
          c_.error(ptr + "/address", shown(json(*a)) +
                                         " is not a PCI address; expected "
                                         "domain:bus:device.function like \"0000:01:00.0\" "
                                         "(`lspci -D` lists them)");
        }
      }
    } else {
      pf_selector(v, ptr, s);
    }
    if (s.mechanism == nvidia_vgpu) {
      if (const json* t = c_.member(v, ptr, "vgpu-type", true)) {
        if (t->is_number_integer() && t->get<std::int64_t>() > 0 &&
            t->get<std::int64_t>() < (std::int64_t{1} << 31)) {
          s.vgpu_type_id = static_cast<int>(t->get<std::int64_t>());
        } else if (t->is_string() && !t->get<std::string>().empty() &&
                   t->get<std::string>().find('\n') == std::string::npos) {
          s.vgpu_type_name = t->get<std::string>();
        } else {
          c_.error(ptr + "/vgpu-type",
                   "expected a vGPU type id (a positive number) or its name as "
                   "creatable_vgpu_types prints it, e.g. \"NVIDIA L40S-2Q\"; got " +
                       shown(*t) + "; `mdevrun types` lists them");
        }
      }
    }
    // Display and ramfb need a device that has a vfio display region: mdevs and NVIDIA vGPU.
    if (auto d = display_switch(v, ptr)) s.display = *d;
    s.ramfb = c_.boolean(v, ptr, "ramfb").value_or(false);
    s.rombar = c_.boolean(v, ptr, "rombar");
    if (s.mechanism == vf && s.display != OnOffAuto::off)
      c_.error(ptr + "/display",
               "a generic SR-IOV VF (Intel xe/i915, AMD, NICs, NVMe) has no display of its own; "
               "drop \"display\" and give the VM a virtio-gpu, SPICE or VNC display next to it "
               "(NVIDIA vGPU VFs do have one: \"mechanism\": \"nvidia-vgpu\")");
    if (s.mechanism == pci && s.display != OnOffAuto::off)
      c_.error(ptr + "/display",
               "a whole device passed through has no vfio display; its own outputs (or a "
               "display next to it) show the guest; drop \"display\"");
    if (s.ramfb && s.mechanism != nvidia_vgpu)
      c_.error(ptr + "/ramfb",
               "ramfb needs a device with a vfio display (an mdev or an NVIDIA "
               "vGPU); drop \"ramfb\"");
    else if (s.ramfb && s.display != OnOffAuto::on)
      c_.error(ptr + "/ramfb",
               "ramfb needs \"display\": \"on\" on this slice; note that ramfb uses "
               "vfio-pci-nohotplug, so such a device cannot be unplugged");
    p_.slices.push_back(std::move(s));
  }

  void pf_selector(const json& v, const std::string& ptr, SliceSpec& s) {
    if (auto a = c_.string(v, ptr, "pf")) {
      if (auto norm = normalize_pci_address(*a))
        s.pf.address = *norm;
      else
        c_.error(ptr + "/pf", shown(json(*a)) +
                                  " is not a PCI address; expected domain:bus:device.function "
                                  "like \"0000:00:02.0\" (`mdevrun types` lists SR-IOV PFs)");
    }
    if (auto id = c_.string(v, ptr, "pf-vendor-device")) {
      if (auto pid = parse_pci_id(*id))
        s.pf.vendor_device = to_string(*pid);
      else
        c_.error(ptr + "/pf-vendor-device",
                 shown(json(*id)) +
                     " is not vendor:device; expected 4+4 hex digits like "
                     "\"8086:a7a0\" (`lspci -nn` shows them in brackets)");
    }
    if (auto d = c_.string(v, ptr, "pf-driver")) {
      if (is_sysfs_name(*d) && d->find(':') == std::string::npos)
        s.pf.driver = *d;
      else
        c_.error(ptr + "/pf-driver",
                 shown(json(*d)) + " is not a driver name (as under /sys/bus/pci/drivers)");
    }
    if (s.mechanism == SliceMechanism::vf && !s.pf.any())
      c_.error(ptr,
               "a vf slice needs its physical function: \"pf\" (an address), "
               "\"pf-vendor-device\" or \"pf-driver\"; `mdevrun types` lists SR-IOV PFs");
    if (auto n = c_.integer(v, ptr, "numvfs", 1, 65535)) s.numvfs = static_cast<int>(*n);
    if (auto k = c_.integer(v, ptr, "vf", 0, 65534)) {
      s.vf = static_cast<int>(*k);
      if (s.numvfs && *s.vf >= *s.numvfs)
        c_.error(ptr + "/vf", "VF " + std::to_string(*s.vf) + " does not exist with \"numvfs\": " +
                                  std::to_string(*s.numvfs) + " (VFs count from 0)");
    }
  }

  void display(const json& d, const std::string& ptr) {
    if (!c_.object(d, ptr, kDisplayKeys)) return;
    if (auto b = c_.choice<DisplayBackend>(d, ptr, "backend")) p_.display.backend = *b;
    p_.display.gl = c_.boolean(d, ptr, "gl").value_or(false);
    if (auto r = c_.path(d, ptr, "rendernode")) p_.display.rendernode = r->string();
    p_.display.listen = c_.string(d, ptr, "listen");
    p_.display.agent = c_.boolean(d, ptr, "agent").value_or(false);
    using enum DisplayBackend;
    const DisplayBackend b = p_.display.backend;
    if (p_.display.gl && (b == vnc || b == none))
      c_.error(ptr + "/gl", "the \"" + to_string(b) +
                                "\" display has no OpenGL; use gtk, sdl, spice-app, "
                                "spice, egl-headless or dbus for gl");
    if (p_.display.rendernode && b != egl_headless && b != spice && b != dbus)
      c_.error(ptr + "/rendernode",
               "only the egl-headless, spice and dbus displays take a render node");
    if (p_.display.listen && b != vnc && b != spice)
      c_.error(ptr + "/listen", "only the vnc and spice displays listen on an address");
    if (p_.display.listen && b == spice && p_.display.gl)
      c_.error(ptr + "/listen",
               "spice with gl works only locally (a unix socket); drop \"listen\" or \"gl\"");
  }

  void disk(const json& v, const std::string& ptr) {
    DiskSpec d;
    if (!c_.object(v, ptr, kDiskKeys)) return;
    if (auto f = c_.path(v, ptr, "file", true)) d.file = *f;
    if (auto fmt = c_.one_of(v, ptr, "format", {"raw", "qcow2", "vmdk", "vdi", "vhdx", "qed"})) {
      d.format = *fmt;
    } else {
      d.format = d.file.extension() == ".qcow2" ? "qcow2" : "raw";
    }
    if (auto i = c_.choice<DiskInterface>(v, ptr, "interface")) d.interface = *i;
    d.read_only = c_.boolean(v, ptr, "read-only").value_or(false);
    d.snapshot = c_.boolean(v, ptr, "snapshot").value_or(false);
    if (d.read_only && d.snapshot)
      c_.error(ptr + "/snapshot",
               "a read-only disk is never written; drop \"snapshot\" or "
               "\"read-only\"");
    p_.disks.push_back(std::move(d));
  }

  void network(const json& v, const std::string& ptr) {
    NetworkSpec n;
    if (!c_.object(v, ptr, kNetworkKeys)) return;
    // Unset when missing or misspelled: then no mode's rules apply, but hostfwd is still wrong.
    const auto mode = c_.choice<NetworkMode>(v, ptr, "mode", true);
    if (mode) n.mode = *mode;
    if (auto model = c_.string(v, ptr, "model")) {
      if (is_name(*model)) {
        n.model = *model;
      } else {
        c_.error(ptr + "/model", shown(json(*model)) + " is not a qemu NIC model name");
      }
    }
    if (auto mac = c_.string(v, ptr, "mac")) {
      if (is_mac(*mac)) {
        n.mac = *mac;
      } else {
        c_.error(ptr + "/mac", shown(json(*mac)) +
                                   " is not a MAC address like "
                                   "\"52:54:00:12:34:56\"");
      }
    }
    for (const auto& [h, hptr] : c_.array(v, ptr, "hostfwd")) {
      if (!h->is_string()) {
        c_.error(hptr, "expected a string like \"tcp::2222-:22\", got " + kind(*h));
      } else {
        n.hostfwd.push_back(h->get<std::string>());
      }
    }
    n.bridge = c_.string(v, ptr, "bridge");
    n.ifname = c_.string(v, ptr, "ifname");
    if (mode != NetworkMode::user && !n.hostfwd.empty())
      c_.error(ptr + "/hostfwd", "hostfwd works only with \"mode\": \"user\"");
    if (mode == NetworkMode::bridge && !n.bridge)
      c_.error(ptr, "bridge mode needs \"bridge\": the host bridge to join, e.g. \"br0\"");
    if (mode == NetworkMode::tap && !n.ifname)
      c_.error(ptr, "tap mode needs \"ifname\": an existing tap interface, e.g. \"tap0\"");
    auto interface_name = [&](const char* key, const std::optional<std::string>& val) {
      if (val && (val->empty() || val->size() > 15 || !is_name(*val)))
        c_.error(ptr + "/" + key, shown(json(*val)) + " is not a network interface name");
    };
    interface_name("bridge", n.bridge);
    interface_name("ifname", n.ifname);
    p_.network.push_back(std::move(n));
  }

  void firmware(const json& f, const std::string& ptr) {
    if (!c_.object(f, ptr, kFirmwareKeys)) return;
    const auto type = c_.choice<FirmwareType>(f, ptr, "type");
    if (type) p_.firmware.type = *type;
    p_.firmware.secure_boot = c_.boolean(f, ptr, "secure-boot").value_or(false);
    if (p_.firmware.secure_boot) {
      // Secure boot is a UEFI feature: it implies uefi, and contradicts an explicit bios.
      if (type == FirmwareType::bios)
        c_.error(ptr + "/secure-boot", "secure boot needs \"type\": \"uefi\" (or no \"type\")");
      else
        p_.firmware.type = FirmwareType::uefi;
    }
    auto code = c_.path(f, ptr, "code");
    auto tmpl = c_.path(f, ptr, "vars-template");
    auto vars = c_.path(f, ptr, "vars");
    if (p_.firmware.type != FirmwareType::uefi && (code || tmpl || vars))
      c_.error(ptr + "/type", "code, vars-template and vars are for \"type\": \"uefi\"");
    if (tmpl && vars)
      c_.error(ptr + "/vars",
               "give either \"vars\" (kept between runs) or \"vars-template\" "
               "(copied fresh for each run), not both");
    if (p_.firmware.type == FirmwareType::uefi) {
      const bool sb = p_.firmware.secure_boot;
      p_.firmware.code = code.value_or(sb ? kOvmfSecureCode : kOvmfCode);
      p_.firmware.vars_template =
          vars ? fs::path() : tmpl.value_or(sb ? kOvmfSecureVars : kOvmfVars);
      p_.firmware.vars = vars.value_or(fs::path());
    }
  }

  void kernel(const json& k, const std::string& ptr) {
    if (!c_.object(k, ptr, kKernelKeys)) return;
    KernelSpec spec;
    if (auto img = c_.path(k, ptr, "image", true)) spec.image = *img;
    spec.initrd = c_.path(k, ptr, "initrd");
    spec.append = c_.string(k, ptr, "append");
    p_.kernel = std::move(spec);
  }

  void serial(const json& s, const std::string& ptr) {
    if (s.is_string()) {
      // The short form has no path, so it cannot say "file".
      const auto mode = parse_choice<SerialMode>(s.get<std::string>());
      if (mode && *mode != SerialMode::file) {
        p_.serial.mode = *mode;
      } else {
        c_.error(ptr,
                 "expected \"console\", \"none\", \"stdio\" or {\"mode\": \"file\", \"path\": "
                 "...}, got " +
                     shown(s));
      }
      return;
    }
    if (!c_.object(s, ptr, kSerialKeys)) return;
    if (auto m = c_.choice<SerialMode>(s, ptr, "mode", true)) p_.serial.mode = *m;
    auto path = c_.path(s, ptr, "path", p_.serial.mode == SerialMode::file);
    if (path) p_.serial.path = *path;
  }

  void device(const json& v, const std::string& ptr) {
    DeviceSpec d;
    if (!c_.object(v, ptr, kDeviceKeys)) return;
    id(v, ptr, d.id);
    if (auto drv = c_.string(v, ptr, "driver", true)) {
      if (is_name(*drv)) {
        d.driver = *drv;
      } else {
        c_.error(ptr + "/driver", shown(json(*drv)) +
                                      " is not a qemu device driver name; see "
                                      "`qemu-system-x86_64 -device help`");
      }
    }
    if (const json* props = c_.member(v, ptr, "properties", false)) {
      if (!props->is_object()) {
        c_.error(ptr + "/properties", "expected an object of property: value, got " + kind(*props));
      } else {
        for (const auto& [k, val] : props->items()) {
          const std::string pptr = ptr + "/properties/" + pointer_token(k);
          if (!is_name(k) || !std::isalpha(static_cast<unsigned char>(k[0]))) {
            c_.error(pptr, "\"" + k + "\" is not a qemu property name");
          } else if (k == "id" || k == "driver") {
            c_.error(pptr, "set \"" + k + "\" on the device itself, not in properties");
          } else if (val.is_string()) {
            d.properties[k] = val.get<std::string>();
            if (kIdReferences.count(k)) references_.push_back({pptr, k, val.get<std::string>()});
          } else if (val.is_boolean()) {
            d.properties[k] = val.get<bool>() ? "on" : "off";
          } else if (val.is_number_integer()) {
            d.properties[k] = val.dump();
          } else {
            c_.error(pptr, "expected a string, a whole number or a boolean, got " + kind(val));
          }
        }
      }
    }
    d.slot = c_.boolean(v, ptr, "slot").value_or(false);
    if (d.slot && d.properties.count("bus"))
      c_.error(ptr + "/slot",
               "\"slot\": true puts the device on its own slot; drop the \"bus\" "
               "property or \"slot\"");
    p_.devices.push_back(std::move(d));
  }

  void qemu(const json& q, const std::string& ptr) {
    if (!c_.object(q, ptr, kQemuKeys)) return;
    if (auto b = c_.string(q, ptr, "binary")) {
      if (b->empty()) {
        c_.error(ptr + "/binary", "expected a program name or path, got an empty string");
      } else if (b->find('/') != std::string::npos) {
        p_.qemu.binary = c_.path(q, ptr, "binary")->string();
      } else {
        p_.qemu.binary = *b;
      }
    }
    for (const auto& [a, aptr] : c_.array(q, ptr, "args")) {
      if (a->is_string()) {
        p_.qemu.args.push_back(a->get<std::string>());
      } else {
        c_.error(aptr, "expected a string (one argv element), got " + kind(*a));
      }
    }
  }

  // A bus=/chardev=/netdev=... property must name something that will exist: an mdev or device
  // of the profile, an id mdevrun generates ("mdevrun-..."), one of the machine's own buses, or an
  // id= that qemu.args defines. Otherwise qemu rejects the argv at start (e.g. a child profile that
  // replaced the base's controller): say so now, at the property.
  void references() {
    std::set<std::string> defined;
    for (const auto& [id, where] : ids_) defined.insert(id);
    static const std::regex arg_id(R"((?:^|,)id=([^,]+))");
    for (const auto& a : p_.qemu.args)
      for (std::sregex_iterator it(a.begin(), a.end(), arg_id), end; it != end; ++it)
        defined.insert((*it)[1]);
    const std::set<std::string> machine_buses =
        p_.machine.type == MachineType::q35
            ? std::set<std::string>{"pcie.0", "ide.0", "ide.1", "ide.2", "ide.3", "ide.4", "ide.5"}
            : std::set<std::string>{"pci.0", "ide.0", "ide.1"};
    for (const auto& r : references_) {
      if (r.value.rfind("mdevrun-", 0) == 0 || defined.count(r.value)) continue;
      if (r.property == "bus" && machine_buses.count(r.value)) continue;
      // A bus is named after its controller: "xhci.0" is the first bus of device "xhci".
      std::string owner = r.value;
      static const std::regex bus_suffix(R"(^(.+)\.\d+$)");
      std::smatch m;
      if (r.property == "bus" && std::regex_match(r.value, m, bus_suffix)) owner = m[1];
      if (owner.rfind("mdevrun-", 0) == 0 || defined.count(owner)) continue;
      std::string text = shown(json(r.value)) + " names no device of this profile";
      if (owner != r.value) text += " (the bus of a device \"" + owner + "\")";
      std::vector<std::string> candidates(defined.begin(), defined.end());
      if (auto near = did_you_mean(owner, candidates))
        text += ": did you mean \"" + *near + "\"?";
      else
        text += ": define a device with \"id\": \"" + owner + "\" or fix the reference (ids: " +
                (candidates.empty() ? std::string("none") : join(candidates)) + ")";
      c_.error(r.pointer, text);
    }
  }

  // `true`/`false`, or an object with the model.
  void tpm(const json& t, const std::string& ptr) {
    if (t.is_boolean()) {
      if (t.get<bool>()) p_.tpm = TpmSpec{};
      return;
    }
    if (!t.is_object()) {
      c_.error(ptr, "expected true, false or {\"model\": \"crb\" | \"tis\"}, got " + shown(t));
      return;
    }
    if (!c_.object(t, ptr, kTpmKeys)) return;
    TpmSpec spec;
    if (auto m = c_.choice<TpmModel>(t, ptr, "model")) {
      spec.model = *m;
      tpm_model_set_ = true;
    }
    p_.tpm = spec;
  }

  void share(const json& v, const std::string& ptr) {
    if (!c_.object(v, ptr, kShareKeys)) return;
    ShareSpec s;
    if (auto src = c_.path(v, ptr, "source", true)) {
      // virtiofsd reads "-o source=" with FUSE's option parser, which splits at every comma.
      if (src->string().find(',') != std::string::npos)
        c_.error(ptr + "/source", shown(json(src->string())) +
                                      " has a ','; virtiofsd cannot take such a path: rename "
                                      "the folder or share a parent without one");
      s.source = *src;
    }
    if (auto tag = c_.string(v, ptr, "tag", true)) {
      if (tag->size() > kMaxShareTag || !is_name(*tag)) {
        c_.error(ptr + "/tag", shown(json(*tag)) +
                                   " is not a share tag; use 1-36 letters, digits, '.', '_' or "
                                   "'-' (the guest mounts it: mount -t virtiofs TAG /mnt)");
      } else if (!share_tags_.emplace(*tag, ptr).second) {
        c_.error(ptr + "/tag", "duplicate tag \"" + *tag + "\" (also used at " + share_tags_[*tag] +
                                   "); every share needs its own tag");
      }
      s.tag = *tag;
    }
    s.read_only = c_.boolean(v, ptr, "read-only").value_or(false);
    p_.shares.push_back(std::move(s));
  }

  void usb(const json& u, const std::string& ptr) {
    if (!c_.object(u, ptr, kUsbKeys)) return;
    if (auto n = c_.integer(u, ptr, "redirect", 0, kMaxUsbRedirect))
      p_.usb.redirect = static_cast<int>(*n);
    for (const auto& [h, hptr] : c_.array(u, ptr, "host")) usb_host(*h, hptr);
  }

  void usb_host(const json& v, const std::string& ptr) {
    if (!c_.object(v, ptr, kUsbHostKeys)) return;
    UsbHostSpec h;
    if (auto vp = c_.string(v, ptr, "vendor-product")) {
      if (auto id = parse_pci_id(*vp)) {
        const std::string text = to_string(*id);
        h.vendor_id = text.substr(0, 4);
        h.product_id = text.substr(5);
      } else {
        c_.error(ptr + "/vendor-product", shown(json(*vp)) +
                                              " is not vendor:product; expected 4+4 hex digits "
                                              "like \"046d:c52b\" (`lsusb` shows them after ID)");
      }
    }
    if (auto b = c_.integer(v, ptr, "bus", 1, 255)) h.bus = static_cast<int>(*b);
    if (auto port = c_.string(v, ptr, "port")) {
      static const std::regex kPort(R"(^[0-9]{1,3}(\.[0-9]{1,3}){0,6}$)");
      if (std::regex_match(*port, kPort))
        h.port = *port;
      else
        c_.error(ptr + "/port", shown(json(*port)) +
                                    " is not a USB port path; expected numbers joined by '.' "
                                    "like \"1.2\" (`lsusb -t` shows them)");
    }
    const bool by_id = v.contains("vendor-product");
    const bool by_place = v.contains("bus") || v.contains("port");
    if (by_id == by_place)
      c_.error(ptr,
               "name the device either by \"vendor-product\" or by \"bus\" and \"port\" (where "
               "it is plugged), not both and not neither");
    else if (by_place && (!v.contains("bus") || !v.contains("port")))
      c_.error(ptr, "a device by place needs both \"bus\" and \"port\" (`lsusb -t`)");
    p_.usb.host.push_back(std::move(h));
  }

  void audio(const json& a, const std::string& ptr) {
    if (!c_.object(a, ptr, kAudioKeys)) return;
    AudioSpec spec;
    if (auto b = c_.choice<AudioBackend>(a, ptr, "backend")) spec.backend = *b;
    p_.audio = spec;
  }

  void boot(const json& v, const std::string& ptr) {
    const auto spelling = v.is_string() ? v.get<std::string>() : std::string();
    const auto dev = parse_choice<BootDevice>(spelling);
    if (!dev) {
      std::string msg = shown(v) + " is not one of " + quoted_list(choice_spellings<BootDevice>());
      if (auto guess = did_you_mean(spelling, choice_spellings<BootDevice>()))
        msg += "; did you mean \"" + *guess + "\"?";
      c_.error(ptr, msg);
      return;
    }
    if (std::find(p_.boot.begin(), p_.boot.end(), *dev) != p_.boot.end()) {
      c_.error(ptr, "\"" + spelling + "\" is already in the boot order; list each once");
      return;
    }
    p_.boot.push_back(*dev);
    boot_ptrs_.push_back(ptr);
  }

  // Keys whose meaning depends on another part of the profile.
  void desktop_checks() {
    using enum DisplayBackend;
    const DisplayBackend b = p_.display.backend;
    const bool spice_display = b == spice || b == spice_app;
    if (p_.firmware.secure_boot && p_.machine.type != MachineType::q35)
      c_.error("/firmware/secure-boot",
               "secure boot needs SMM, which mdevrun enables on q35 only; set "
               "\"machine\": {\"type\": \"q35\"}");
    if (p_.display.agent && b == none)
      c_.error("/display/agent",
               "the agent talks to a display and \"backend\" is \"none\"; pick a display or "
               "drop \"agent\"");
    if (p_.usb.redirect > 0 && !spice_display)
      c_.error("/usb/redirect",
               "USB redirection is a SPICE channel; use display backend \"spice\" or "
               "\"spice-app\", or \"usb\": {\"host\": [...]} to pass a device through");
    if (p_.audio && p_.audio->backend == AudioBackend::spice && !spice_display)
      c_.error("/audio/backend",
               "the \"spice\" audio backend needs display backend \"spice\" or \"spice-app\"");
    if (p_.tpm && !tpm_model_set_)
      p_.tpm->model = p_.machine.type == MachineType::q35 ? TpmModel::crb : TpmModel::tis;
    for (std::size_t i = 0; i < p_.boot.size(); ++i) {
      const BootDevice d = p_.boot[i];
      const bool present = d == BootDevice::cdrom  ? p_.cdrom.has_value()
                           : d == BootDevice::disk ? !p_.disks.empty()
                                                   : !p_.network.empty();
      if (!present)
        c_.error(boot_ptrs_[i], "the profile has no " +
                                    std::string(d == BootDevice::cdrom  ? "\"cdrom\""
                                                : d == BootDevice::disk ? "\"disks\""
                                                                        : "\"network\"") +
                                    " to boot from; add one or drop \"" + to_string(d) + "\"");
    }
  }

  void cross_checks() {
    references();
    desktop_checks();
    if (p_.machine.cpu.empty()) p_.machine.cpu = p_.machine.accel == "kvm" ? "host" : "max";
    if (vm_uuid_ptrs_.size() > 1)
      c_.error(vm_uuid_ptrs_[1],
               "only one mdev can give the VM its UUID (-uuid); it is already "
               "set at " +
                   vm_uuid_ptrs_[0]);
  }

  const ProfileDocument& doc_;
  Checker c_;
  Profile p_;
  std::map<std::string, std::string> ids_;        // id -> pointer of its first use
  std::map<std::string, std::string> uuids_;      // uuid -> pointer of its first use
  std::map<std::string, std::string> addresses_;  // pci address -> pointer of its first use
  std::vector<std::string> vm_uuid_ptrs_;
  std::map<std::string, std::string> share_tags_;  // tag -> pointer of its first use
  std::vector<std::string> boot_ptrs_;             // pointer of each p_.boot entry
  bool tpm_model_set_ = false;
  struct Reference {
    std::string pointer, property, value;
  };
  std::vector<Reference> references_;  // device properties that name another id
};

}  // namespace

bool is_qemu_id(const std::string& id) {
  if (id.empty() || id.size() > 128 || !std::isalpha(static_cast<unsigned char>(id[0])))
    return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
      return false;
  return true;
}

std::optional<std::uint64_t> parse_size_mib(const std::string& text) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > (std::uint64_t{1} << 40)) return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(text[i++] - '0');
  }
  if (i == 0 || n == 0) return std::nullopt;
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() == 3 && unit.substr(1) == "IB") unit.resize(1);
  if (unit.size() == 2 && unit[1] == 'B') unit.resize(1);
  if (unit.empty() || unit == "M") return n;
  if (unit == "G") return n * 1024;
  if (unit == "T") return n * 1024 * 1024;
  if (unit == "K" && n % 1024 == 0) return n / 1024;
  return std::nullopt;
}

Profile profile_from_document(const ProfileDocument& doc) {
  return ProfileBuilder(doc).build();
}

Profile load_profile(const fs::path& file) {
  return profile_from_document(load_profile_document(file));
}

}  // namespace mdevrun
