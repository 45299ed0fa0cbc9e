#include "evaluate/metrics.h"

#include <algorithm>

namespace vigil::evaluate {

std::vector<std::pair<size_t, size_t>> Runs(const std::vector<uint8_t>& flags) {
  std::vector<std::pair<size_t, size_t>> runs;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (!flags[i]) continue;
    size_t j = i;
    while (j + 1 < flags.size() && flags[j + 1]) ++j;
    runs.emplace_back(i, j);
    i = j;
  }
  return runs;
}

Confusion PointConfusion(const std::vector<uint8_t>& label, const std::vector<uint8_t>& predicted) {
  Confusion c;
  const size_t n = std::min(label.size(), predicted.size());
  for (size_t i = 0; i < n; ++i) {
    const bool l = label[i] != 0, p = predicted[i] != 0;
    c.tp += l && p;
    c.fp += !l && p;
    c.tn += !l && !p;
    c.fn += l && !p;
  }
  return c;
}

EventCounts EventMatch(const std::vector<uint8_t>& label, const std::vector<uint8_t>& predicted) {
  EventCounts e;
  auto any = [](const std::vector<uint8_t>& flags, std::pair<size_t, size_t> run) {
    for (size_t i = run.first; i <= run.second && i < flags.size(); ++i) {
      if (flags[i]) return true;
    }
    return false;
  };
  for (auto run : Runs(label)) {
    ++e.true_events;
    e.detected_true_events += any(predicted, run);
  }
  for (auto run : Runs(predicted)) {
    ++e.predicted_events;
    e.correct_predicted_events += any(label, run);
  }
  return e;
}

}  // namespace vigil::evaluate
