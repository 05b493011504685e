#include "qemu/helper_cmdline.hpp"

#include "base/error.hpp"

namespace mdevrun {
namespace {

std::string no_comma(const std::string& path, const char* what) {
  if (path.find(',') != std::string::npos)
    throw Error(ExitCode::usage,
                std::string(what) + " " + path +
                    " has a ',', which the helper's options cannot carry; set "
                    "MDEVRUN_RUNTIME_DIR / MDEVRUN_STATE_DIR to a path without one");
  return path;
}

}  // namespace

std::vector<HelperCommand> helper_commands(const Profile& profile, const QemuRuntimePaths& paths) {
  std::vector<HelperCommand> out;
  if (profile.tpm) {
    HelperCommand h;
    h.name = "swtpm";
    h.socket = paths.tpm_socket;
    h.log = paths.instance_dir / "swtpm.log";
    h.state_dir = paths.tpm_state;
    h.ready_by_connect = true;
    const std::string state = no_comma(paths.tpm_state.string(), "the TPM state folder");
    const std::string socket = no_comma(paths.tpm_socket.string(), "the TPM socket");
    // No --terminate: the readiness probe's connection must not end it; it is stopped after qemu.
    // qemu's TPM emulator backend sends the init command itself.
    h.argv = {"swtpm",
              "socket",
              "--tpm2",
              "--tpmstate",
              "dir=" + state + ",mode=0600",
              "--ctrl",
              "type=unixio,path=" + socket + ",mode=0600"};
    out.push_back(std::move(h));
  }
  for (const ShareSpec& s : profile.shares) {
    HelperCommand h;
    h.name = "virtiofsd " + s.tag;
    h.socket = paths.share_socket(s.tag);
    h.log = paths.instance_dir / ("virtiofs-" + s.tag + ".log");
    if (s.read_only) h.read_only = s.source;
    h.argv = {kVirtiofsd, "--socket-path=" + no_comma(h.socket.string(), "the share socket"),
              "-o",       "source=" + s.source.string(),
              "-o",       "cache=auto"};
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace mdevrun
