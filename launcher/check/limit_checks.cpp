#include "check/detail/checker.hpp"

#include <cstdint>
#include <string>

namespace mdevrun::detail {

void check_memlock(Checker& c) {
  const char* id = "memlock";
  const char* title = "RLIMIT_MEMLOCK";
  if (c.host.root) return c.add(pass(id, title, "not limited for root (CAP_IPC_LOCK)"));
  if (!c.host.memlock_bytes) return c.add(pass(id, title, "unlimited"));
  const std::uint64_t have = *c.host.memlock_bytes / (1024 * 1024);
  const std::string have_text = std::to_string(have) + " MiB";
  const std::string fix =
      "echo '@kvm - memlock unlimited' | sudo tee /etc/security/limits.d/mdevrun.conf, be in "
      "group kvm, log in again (check with ulimit -l)";
  if (!c.profile)
    return c.add(bad(Verdict::warn, id, title,
                     "vfio pins guest memory: a VM needs its memory + 1 GiB", fix, have_text));
  if (!c.needs_vfio()) return c.add(pass(id, title, "no vfio device, no pinned memory"));
  // libvirt's rule for VFIO devices: guest memory plus 1 GiB.
  const std::uint64_t need = c.profile->machine.memory_mib + 1024;
  if (have >= need)
    return c.add(pass(id, title, have_text + " (vfio needs " + std::to_string(need) + " MiB)"));
  c.add(bad(Verdict::fail, id, title,
            "vfio needs guest memory + 1 GiB = " + std::to_string(need) + " MiB", fix, have_text));
}

}  // namespace mdevrun::detail
