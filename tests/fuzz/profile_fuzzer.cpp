// libFuzzer target: any bytes through the profile reader and validator. The only acceptable
// outcomes are a Profile or an mdevrun::Error; a crash, a hang, a leak or another exception is a
// bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "profile/profile_document.hpp"
#include "profile/profile_loader.hpp"
#include "qemu/qemu_cmdline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    // A directory that does not exist: `extends` can only fail, never read the host.
    const auto doc = mdevrun::parse_profile_document(text, "fuzz.json", "/nonexistent-fuzz-dir");
    const mdevrun::Profile p = mdevrun::profile_from_document(doc);
    std::vector<mdevrun::ResolvedMdev> mdevs(p.mdevs.size());
    std::vector<mdevrun::ResolvedSlice> slices(p.slices.size());
    mdevrun::build_qemu_argv(p, mdevs, slices, {});
  } catch (const mdevrun::Error&) {
  }
  return 0;
}
