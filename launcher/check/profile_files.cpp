#include "check/profile_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <system_error>

#include "base/shell_quote.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

constexpr const char* kOvmf = "install OVMF (Debian/Ubuntu: ovmf; Fedora, Arch: edk2-ovmf)";

struct NamedFile {
  std::string pointer;  ///< JSON pointer of the field: "/disks/0/file"
  std::string field;    ///< the same for people: "disks[0].file"
  std::string key;      ///< the member to edit: "file"
  fs::path path;
  bool written = false;     ///< qemu opens it read-write
  std::string missing_fix;  ///< how to get the file there
  std::string write_fix;    ///< how to let qemu write it, or not need to
  bool directory = false;   ///< a folder (a share's source), not a file
};

std::vector<NamedFile> named_files(const Profile& p) {
  const std::string in = " in " + p.file.string();
  const auto edit = [&](const std::string& key) { return "fix \"" + key + "\"" + in; };
  std::vector<NamedFile> files;
  for (std::size_t i = 0; i < p.disks.size(); ++i) {
    const DiskSpec& d = p.disks[i];
    const std::string n = std::to_string(i);
    const std::string path = shell_quote(d.file.string());
    files.push_back(
        {"/disks/" + n + "/file", "disks[" + n + "].file", "file", d.file,
         // A snapshot's writes go to a temporary overlay: the image is only read, but needed.
         !d.read_only && !d.snapshot,
         // A read-only disk is an existing image (an installer ISO): an empty one would not do.
         d.read_only ? "put the image there, or " + edit("file")
                     : "create it (qemu-img create -f " + d.format + " " + path + " 20G) or " +
                           edit("file"),
         "give this user write access (ls -l " + path + "), or set \"snapshot\": true on the disk" +
             in});
  }
  if (p.cdrom)
    files.push_back({"/cdrom",
                     "cdrom",
                     "cdrom",
                     *p.cdrom,
                     false,
                     "put the ISO image there, or " + edit("cdrom"),
                     {}});
  for (std::size_t i = 0; i < p.shares.size(); ++i) {
    const std::string n = std::to_string(i);
    NamedFile f{"/shares/" + n + "/source",
                "shares[" + n + "].source",
                "source",
                p.shares[i].source,
                false,
                "create the folder (mkdir -p " + shell_quote(p.shares[i].source.string()) +
                    "), or " + edit("source"),
                {}};
    f.directory = true;
    files.push_back(std::move(f));
  }
  if (p.kernel) {
    files.push_back({"/kernel/image",
                     "kernel.image",
                     "image",
                     p.kernel->image,
                     false,
                     "put the kernel image there, or " + edit("image"),
                     {}});
    if (p.kernel->initrd)
      files.push_back({"/kernel/initrd",
                       "kernel.initrd",
                       "initrd",
                       *p.kernel->initrd,
                       false,
                       "put the initrd there, or " + edit("initrd"),
                       {}});
  }
  if (p.firmware.type == FirmwareType::uefi) {
    files.push_back({"/firmware/code",
                     "firmware.code",
                     "code",
                     p.firmware.code,
                     false,
                     std::string(kOvmf) + ", or set \"code\"" + in + " to an OVMF code file",
                     {}});
    if (!p.firmware.vars_template.empty())
      files.push_back(
          {"/firmware/vars-template",
           "firmware.vars-template",
           "vars-template",
           p.firmware.vars_template,
           false,
           std::string(kOvmf) + ", or set \"vars-template\"" + in + " to an OVMF vars file",
           {}});
    if (!p.firmware.vars.empty())
      files.push_back({"/firmware/vars", "firmware.vars", "vars", p.firmware.vars, true,
                       "copy an OVMF vars file there once (it keeps the guest's UEFI settings), "
                       "or " +
                           edit("vars"),
                       "give this user write access (ls -l " +
                           shell_quote(p.firmware.vars.string()) +
                           "), or use \"vars-template\" instead of \"vars\"" + in});
  }
  return files;
}

}  // namespace

bool effective_access(const fs::path& path, int mode) {
  return ::faccessat(AT_FDCWD, path.c_str(), mode, AT_EACCESS) == 0;
}

std::vector<CheckResult> check_profile_files(const Profile& profile,
                                             const AccessCheck& can_access) {
  std::vector<CheckResult> out;
  for (const auto& f : named_files(profile)) {
    CheckResult r{Verdict::fail, "file:" + f.pointer, f.field, f.path.string(), {}, {}};
    std::error_code ec;
    const auto status = fs::status(f.path, ec);
    if (status.type() == fs::file_type::not_found) {
      r.why = "does not exist";
      r.fix = f.missing_fix;
    } else if (ec) {
      // Typically a folder on the way this user may not enter (EACCES).
      r.why = "cannot be looked up (" + ec.message() + ")";
      r.fix = "give this user access to the folders on the way (ls -ld each of them)";
    } else if (f.directory != fs::is_directory(status)) {
      r.why = f.directory ? "is not a directory" : "is a directory, not a file";
      r.fix = "fix \"" + f.key + "\" in " + profile.file.string();
    } else if (!can_access(f.path, R_OK)) {
      r.why = "this user cannot read it";
      r.fix = "give this user read access (ls -l " + shell_quote(f.path.string()) + ")";
    } else if (f.written && !can_access(f.path, W_OK)) {
      r.why = "this user cannot write it (qemu opens it read-write)";
      r.fix = f.write_fix;
    } else {
      r.verdict = Verdict::pass;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace mdevrun
