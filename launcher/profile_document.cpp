#include "profile_document.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "error.hpp"
#include "json_source.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

// Profiles are small; a limit keeps a wrong path (a disk image, /dev/zero) from eating memory.
constexpr std::uintmax_t kMaxProfileBytes = 1 << 20;

std::string read_file(const fs::path& path, const std::string& shown, const std::string& context) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw Error(ExitCode::usage,
                context + "cannot read profile " + shown + ": " + std::strerror(err));
  }
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxProfileBytes)
      throw Error(ExitCode::usage, context + "profile " + shown +
                                       " is larger than 1 MiB; is it "
                                       "really a profile?");
  }
  return text;
}

void collect_origins(const nlohmann::json& value, const std::string& ptr,
                     const ProfileDocument& child, const ProfileDocument* base,
                     std::map<std::string, ValueOrigin>& out) {
  const auto mine = child.origins.find(ptr);
  if (mine != child.origins.end()) {
    out[ptr] = mine->second;
  } else if (base) {
    out[ptr] = base->origins.at(ptr);
  }
  if (value.is_object()) {
    for (const auto& [k, v] : value.items())
      collect_origins(v, ptr + "/" + pointer_token(k), child, base, out);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i)
      collect_origins(value[i], ptr + "/" + std::to_string(i), child, base, out);
  }
}

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
  nlohmann::json merged = base.value;
  merged.merge_patch(patch);

  ProfileDocument out;
  out.file = file;
  collect_origins(merged, "", doc, &base, out.origins);
  out.value = std::move(merged);
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
