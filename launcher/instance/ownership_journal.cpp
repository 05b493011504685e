#include "instance/ownership_journal.hpp"

#include <memory>

#include "instance/state_file.hpp"

namespace mdevrun {

void record_ownership_in(const std::filesystem::path& path, const std::string& name,
                         EnsureOptions& options) {
  auto state = std::make_shared<InstanceState>();
  if (auto loaded = load_state(path)) {
    *state = *loaded;
  } else {
    state->name = name;
  }
  options.owned.clear();
  for (const auto& m : state->mdevs)
    if (m.created) options.owned.insert(m.uuid);
  options.record = [state, path](const std::vector<MdevRecord>& records) {
    state->mdevs = records;
    save_state(path, *state);
  };
}

}  // namespace mdevrun
