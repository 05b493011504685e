#include "profile/profile_document.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/error.hpp"
#include "base/text.hpp"
#include "profile/json_source.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

// Profiles are small; a limit keeps a wrong path (a disk image, /dev/zero) from eating memory.
constexpr std::uintmax_t kMaxProfileBytes = 1 << 20;

// A chain this deep is a mistake (or an attack on the stack), not a profile.
constexpr std::size_t kMaxExtendsDepth = 64;

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "directory";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISSOCK(mode)) return "socket";
  return "special file";
}

// Opened without blocking and checked before reading: a FIFO or device given as a profile would
// otherwise hang (or stream forever) instead of being refused.
std::string read_file(const fs::path& path, const std::string& shown, const std::string& context) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    throw Error(ExitCode::usage,
                context + "cannot read profile " + shown + ": " + std::strerror(err));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(ExitCode::usage, context + "profile " + shown + " is not a regular file (a " +
                                     file_kind(st.st_mode) + "): give the path of a JSON profile");
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      throw Error(ExitCode::usage,
                  context + "cannot read profile " + shown + ": " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxProfileBytes)
      throw Error(ExitCode::usage, context + "profile " + shown +
                                       " is larger than 1 MiB; is it "
                                       "really a profile?");
  }
  return text;
}

// The extends merge: RFC 7386 merge patch (the child's values win, null removes a key) except for
// arrays whose elements all carry an "id" (mdevs, devices): those merge element by element, so a
// child that adds one device keeps the base's. A child may also write such an array as an object
// keyed by id, where null removes that element. Every value keeps the origin of the file that
// wrote it, even when merging moves it to another index.
class ExtendsMerge {
 public:
  ExtendsMerge(const ProfileDocument& base, const ProfileDocument& child)
      : base_(base), child_(child) {}

  nlohmann::json merge(const nlohmann::json& b, const std::string& bptr, const nlohmann::json& c,
                       const std::string& cptr, const std::string& optr) {
    if (c.is_object() && b.is_object()) {
      set_origin(optr, child_, cptr);
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [k, bv] : b.items()) {
        const std::string key = "/" + pointer_token(k);
        const auto cv = c.find(k);
        if (cv == c.end()) {
          out[k] = copy(bv, base_, bptr + key, optr + key);
        } else if (!cv->is_null()) {
          out[k] = merge(bv, bptr + key, *cv, cptr + key, optr + key);
        }
      }
      for (const auto& [k, cv] : c.items()) {
        const std::string key = "/" + pointer_token(k);
        if (!b.contains(k) && !cv.is_null())
          out[k] = strip_nulls(copy(cv, child_, cptr + key, optr + key));
      }
      return out;
    }
    if (is_id_array(b) && is_id_array(c)) return merge_by_id(b, bptr, c, cptr, optr);
    if (is_id_array(b) && is_id_map(c)) return merge_id_map(b, bptr, c, cptr, optr);
    return strip_nulls(copy(c, child_, cptr, optr));
  }

  std::map<std::string, ValueOrigin> take_origins() { return std::move(origins_); }

 private:
  static bool is_id_array(const nlohmann::json& v) {
    if (!v.is_array() || v.empty()) return false;
    for (const auto& e : v)
      if (!e.is_object() || !e.contains("id") || !e["id"].is_string()) return false;
    return true;
  }
  static bool is_id_map(const nlohmann::json& v) {
    if (!v.is_object()) return false;
    for (const auto& [k, e] : v.items())
      if (!e.is_object() && !e.is_null()) return false;
    return true;
  }
  // RFC 7386: a null inside an added value means "absent", not a JSON null.
  static nlohmann::json strip_nulls(nlohmann::json v) {
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end();) {
        if (it->is_null()) {
          it = v.erase(it);
        } else {
          *it = strip_nulls(std::move(*it));
          ++it;
        }
      }
    }
    return v;
  }

  nlohmann::json merge_by_id(const nlohmann::json& b, const std::string& bptr,
                             const nlohmann::json& c, const std::string& cptr,
                             const std::string& optr) {
    set_origin(optr, child_, cptr);
    nlohmann::json out = nlohmann::json::array();
    std::vector<bool> used(c.size(), false);
    for (std::size_t i = 0; i < b.size(); ++i) {
      const std::string o = optr + "/" + std::to_string(out.size());
      std::size_t j = 0;
      while (j < c.size() && c[j]["id"] != b[i]["id"]) ++j;
      if (j < c.size()) {
        used[j] = true;
        out.push_back(
            merge(b[i], bptr + "/" + std::to_string(i), c[j], cptr + "/" + std::to_string(j), o));
      } else {
        out.push_back(copy(b[i], base_, bptr + "/" + std::to_string(i), o));
      }
    }
    for (std::size_t j = 0; j < c.size(); ++j) {
      if (used[j]) continue;
      const std::string o = optr + "/" + std::to_string(out.size());
      out.push_back(strip_nulls(copy(c[j], child_, cptr + "/" + std::to_string(j), o)));
    }
    return out;
  }

  nlohmann::json merge_id_map(const nlohmann::json& b, const std::string& bptr,
                              const nlohmann::json& c, const std::string& cptr,
                              const std::string& optr) {
    set_origin(optr, child_, cptr);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::string> base_ids;
    for (std::size_t i = 0; i < b.size(); ++i) {
      const std::string id = b[i]["id"].get<std::string>();
      base_ids.push_back(id);
      const std::string o = optr + "/" + std::to_string(out.size());
      const std::string from = bptr + "/" + std::to_string(i);
      const auto cv = c.find(id);
      if (cv == c.end()) {
        out.push_back(copy(b[i], base_, from, o));
      } else if (!cv->is_null()) {
        out.push_back(merge(b[i], from, *cv, cptr + "/" + pointer_token(id), o));
      }
    }
    for (const auto& [id, cv] : c.items()) {
      if (std::find(base_ids.begin(), base_ids.end(), id) != base_ids.end()) continue;
      const std::string from = cptr + "/" + pointer_token(id);
      if (cv.is_null()) {
        const ValueOrigin& at = child_.locate(from);
        throw Error(ExitCode::usage, at.file + ":" + std::to_string(at.line) + ": " + from +
                                         ": null removes an element the base defines, but the "
                                         "base has no \"" +
                                         id + "\" (it has: " +
                                         (base_ids.empty() ? std::string("none") : join(base_ids)) +
                                         ")");
      }
      const std::string o = optr + "/" + std::to_string(out.size());
      nlohmann::json element = nlohmann::json::object({{"id", id}});
      set_origin(o + "/id", child_, from);
      for (const auto& [k, v] : cv.items()) {
        if (k == "id" || v.is_null()) continue;
        element[k] =
            strip_nulls(copy(v, child_, from + "/" + pointer_token(k), o + "/" + pointer_token(k)));
      }
      out.push_back(std::move(element));
    }
    return out;
  }

  // `v` unchanged, with the origins of every value below `from` in `doc` moved to `to`.
  const nlohmann::json& copy(const nlohmann::json& v, const ProfileDocument& doc,
                             const std::string& from, const std::string& to) {
    set_origin(to, doc, from);
    if (v.is_object()) {
      for (const auto& [k, e] : v.items())
        copy(e, doc, from + "/" + pointer_token(k), to + "/" + pointer_token(k));
    } else if (v.is_array()) {
      for (std::size_t i = 0; i < v.size(); ++i)
        copy(v[i], doc, from + "/" + std::to_string(i), to + "/" + std::to_string(i));
    }
    return v;
  }

  void set_origin(const std::string& to, const ProfileDocument& doc, const std::string& from) {
    const auto it = doc.origins.find(from);
    origins_[to] = it != doc.origins.end() ? it->second : doc.locate(from);
  }

  const ProfileDocument& base_;
  const ProfileDocument& child_;
  std::map<std::string, ValueOrigin> origins_;
};

std::string chain_text(const std::vector<fs::path>& chain, const fs::path& again) {
  std::string out;
  for (const auto& p : chain) out += p.filename().string() + " -> ";
  return out + again.filename().string();
}

ProfileDocument load_chain(const std::string& text, const std::string& shown, const fs::path& file,
                           std::vector<fs::path>& chain);

ProfileDocument from_source(JsonSource src, const std::string& shown, const fs::path& file,
                            std::vector<fs::path>& chain) {
  ProfileDocument doc;
  doc.file = file;
  for (const auto& [ptr, line] : src.lines) doc.origins[ptr] = {shown, file.parent_path(), line};
  doc.value = std::move(src.value);
  if (!doc.value.is_object()) {
    throw Error(ExitCode::usage,
                shown + ":" + std::to_string(doc.origins[""].line) +
                    ": /: a profile is a JSON object ({ \"name\": ..., ... }), got " +
                    doc.value.type_name());
  }
  if (!doc.value.contains("extends")) return doc;

  const std::string where =
      shown + ":" + std::to_string(doc.origins["/extends"].line) + ": /extends: ";
  const auto& ext = doc.value["extends"];
  if (!ext.is_string() || ext.get<std::string>().empty())
    throw Error(ExitCode::usage, where + "expected the path of a base profile (a string)");
  const fs::path base_rel = ext.get<std::string>();
  const fs::path base_file = (file.parent_path() / base_rel).lexically_normal();
  const std::string base_shown =
      (fs::path(shown).parent_path() / base_rel).lexically_normal().string();
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(base_file, ec);
  if (chain.size() > kMaxExtendsDepth)
    throw Error(ExitCode::usage, where + "the extends chain has more than " +
                                     std::to_string(kMaxExtendsDepth) +
                                     " bases; flatten some of them into one");
  for (const auto& seen : chain) {
    if (seen == canonical) {
      throw Error(ExitCode::usage, where + "extends cycle: " + chain_text(chain, canonical) +
                                       "; a profile cannot extend itself through its bases");
    }
  }
  const std::string base_text = read_file(base_file, base_shown, where);
  ProfileDocument base = load_chain(base_text, base_shown, base_file, chain);

  nlohmann::json patch = doc.value;
  patch.erase("extends");
  ExtendsMerge merge(base, doc);
  ProfileDocument out;
  out.file = file;
  out.value = merge.merge(base.value, "", patch, "", "");
  out.origins = merge.take_origins();
  return out;
}

ProfileDocument load_chain(const std::string& text, const std::string& shown, const fs::path& file,
                           std::vector<fs::path>& chain) {
  std::error_code ec;
  chain.push_back(fs::weakly_canonical(file, ec));
  ProfileDocument doc = from_source(parse_json_source(text, shown), shown, file, chain);
  chain.pop_back();
  return doc;
}

}  // namespace

const ValueOrigin& ProfileDocument::locate(const std::string& pointer) const {
  std::string p = pointer;
  for (;;) {
    const auto it = origins.find(p);
    if (it != origins.end()) return it->second;
    if (p.empty()) break;
    p.erase(p.rfind('/'));
  }
  static const ValueOrigin unknown{"<profile>", {}, 0};
  return origins.empty() ? unknown : origins.begin()->second;
}

ProfileDocument load_profile_document(const fs::path& file) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(file, ec).lexically_normal();
  const std::string text = read_file(absolute, file.string(), "");
  std::vector<fs::path> chain;
  return load_chain(text, file.string(), absolute, chain);
}

ProfileDocument parse_profile_document(const std::string& text, const std::string& display_name,
                                       const fs::path& dir) {
  std::vector<fs::path> chain;
  return load_chain(text, display_name, dir / display_name, chain);
}

}  // namespace mdevrun
