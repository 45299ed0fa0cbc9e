#include "evaluate/nab.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "evaluate/metrics.h"

namespace vigil::evaluate {
namespace {

constexpr int64_t kNabMaxProbationRows = 750;
constexpr int kSkabDetail = 1000;  // tsad samples its scoring curve at 1000 points

// Cut overlapping windows as tsad's "cut right window": the later one starts where
// the earlier one ends.
std::vector<Window> CutOverlaps(std::vector<Window> w) {
  std::sort(w.begin(), w.end(), [](const Window& a, const Window& b) { return a.start_ms < b.start_ms; });
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    if (w[i].end_ms >= w[i + 1].start_ms) w[i + 1].start_ms = w[i].end_ms;
  }
  return w;
}

// tsad's "improved" scoring curve: A_tp at the window's left edge, A_fp (negative) at its right.
double SkabCurve(const Window& w, int64_t t, double a_tp, double a_fp) {
  double span = static_cast<double>(w.end_ms - w.start_ms);
  int event = span > 0 ? static_cast<int>(static_cast<double>(t - w.start_ms) / span * kSkabDetail) : 0;
  event = std::clamp(event, 0, kSkabDetail - 1);
  const double half_pi = std::numbers::pi / 2;
  const double x = -half_pi + std::numbers::pi * event / (kSkabDetail - 1);
  return (a_tp - a_fp) / 2 * -std::tanh(x) / std::tanh(half_pi) + (a_tp - a_fp) / 2 + a_fp;
}

NabTotals ScoreSkab(const Series& s, const std::vector<size_t>& detections, std::vector<Window> windows) {
  NabTotals t;
  windows = CutOverlaps(std::move(windows));
  t.windows = static_cast<int64_t>(windows.size());
  std::vector<int64_t> first(windows.size(), -1);
  for (size_t row : detections) {
    const int64_t ts = s.ts[row];
    bool inside = false;
    for (size_t w = 0; w < windows.size(); ++w) {
      if (ts >= windows[w].start_ms && ts <= windows[w].end_ms) {
        inside = true;
        if (first[w] < 0 || ts < first[w]) first[w] = ts;
      }
    }
    t.false_detections += !inside;
  }
  for (size_t p = 0; p < kNabProfiles.size(); ++p) {
    const NabProfile& prof = kNabProfiles[p];
    double score = -prof.fp * static_cast<double>(t.false_detections);
    for (size_t w = 0; w < windows.size(); ++w) {
      score += first[w] < 0 ? -prof.fn : SkabCurve(windows[w], first[w], prof.tp, -prof.fp);
    }
    t.raw[p] = score;
    t.null[p] = -prof.fn * static_cast<double>(windows.size());
    t.perfect[p] = prof.tp * static_cast<double>(windows.size());
  }
  for (int64_t f : first) t.detected_windows += f >= 0;
  return t;
}

struct RowWindow {
  size_t left, right;
};

NabTotals ScoreNumenta(const Series& s, const std::vector<size_t>& detections,
                       const std::vector<Window>& windows, double probation) {
  const size_t n = s.size();
  const auto probation_rows = static_cast<size_t>(
      std::min<int64_t>(static_cast<int64_t>(std::floor(probation * static_cast<double>(n))), kNabMaxProbationRows));
  // Windows as row ranges; rows are taken in file order, as NAB does.
  std::vector<RowWindow> rw;
  for (const Window& w : CutOverlaps(windows)) {
    size_t l = n, r = 0;
    for (size_t i = 0; i < n; ++i) {
      if (s.ts[i] >= w.start_ms && s.ts[i] <= w.end_ms) {
        l = std::min(l, i);
        r = std::max(r, i);
      }
    }
    if (l == n) continue;
    if (!rw.empty() && l <= rw.back().right) l = rw.back().right + 1;
    if (l > r) continue;
    rw.push_back({l, r});
  }
  // A window counts only when some of its rows lie past the probationary head.
  std::vector<RowWindow> scored;
  for (const RowWindow& w : rw) {
    if (w.right >= probation_rows) scored.push_back(w);
  }
  NabTotals t;
  t.windows = static_cast<int64_t>(scored.size());
  const double max_tp = ScaledSigmoid(-1.0);
  std::vector<double> best(rw.size(), -1e300);
  std::vector<double> fp_unweighted;
  for (size_t row : detections) {
    if (row < probation_rows) continue;
    auto it = std::find_if(rw.begin(), rw.end(), [row](const RowWindow& w) { return row >= w.left && row <= w.right; });
    if (it != rw.end()) {
      const double width = static_cast<double>(it->right - it->left + 1);
      const double y = -static_cast<double>(it->right - row + 1) / width;
      size_t k = static_cast<size_t>(it - rw.begin());
      best[k] = std::max(best[k], ScaledSigmoid(y) / max_tp);
      continue;
    }
    const RowWindow* prev = nullptr;
    for (const RowWindow& w : rw) {
      if (w.right < row) prev = &w;
    }
    double u = -1.0;
    if (prev != nullptr) {
      const double width = static_cast<double>(prev->right - prev->left + 1);
      u = ScaledSigmoid(static_cast<double>(row - prev->right) / std::max(width - 1.0, 1.0));
    }
    fp_unweighted.push_back(u);
  }
  t.false_detections = static_cast<int64_t>(fp_unweighted.size());
  for (size_t p = 0; p < kNabProfiles.size(); ++p) {
    const NabProfile& prof = kNabProfiles[p];
    double score = 0;
    for (double u : fp_unweighted) score += u * prof.fp;
    for (size_t k = 0; k < rw.size(); ++k) {
      if (rw[k].right < probation_rows) continue;
      score += best[k] > -1e299 ? best[k] * prof.tp : -prof.fn;
    }
    t.raw[p] = score;
    t.null[p] = -prof.fn * static_cast<double>(t.windows);
    t.perfect[p] = prof.tp * static_cast<double>(t.windows);
  }
  for (size_t k = 0; k < rw.size(); ++k) t.detected_windows += rw[k].right >= probation_rows && best[k] > -1e299;
  return t;
}

}  // namespace

void NabTotals::Add(const NabTotals& o) {
  for (size_t p = 0; p < raw.size(); ++p) {
    raw[p] += o.raw[p];
    null[p] += o.null[p];
    perfect[p] += o.perfect[p];
  }
  windows += o.windows;
  detected_windows += o.detected_windows;
  false_detections += o.false_detections;
}

double NabTotals::Normalized(size_t p) const {
  const double span = perfect[p] - null[p];
  return span == 0 ? 0.0 : 100.0 * (raw[p] - null[p]) / span;
}

double ScaledSigmoid(double y) {
  if (y > 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * y)) - 1.0;
}

std::vector<size_t> DetectionRows(const std::vector<uint8_t>& p, Detections mode) {
  std::vector<size_t> rows;
  for (size_t i = 0; i < p.size(); ++i) {
    const bool prev = i > 0 && p[i - 1];
    const bool cur = p[i] != 0;
    bool hit = false;
    switch (mode) {
      case Detections::kAll: hit = cur; break;
      case Detections::kOnsets: hit = cur && !prev; break;
      case Detections::kEdges: hit = cur != prev; break;
    }
    if (hit) rows.push_back(i);
  }
  return rows;
}

std::vector<Window> ScoringWindows(const Series& s, const NabOptions& o) {
  if (s.windows) return *s.windows;
  std::vector<Window> out;
  const bool any_cp = std::any_of(s.changepoint.begin(), s.changepoint.end(), [](uint8_t c) { return c != 0; });
  if (any_cp) {
    for (size_t i = 0; i < s.changepoint.size(); ++i) {
      if (!s.changepoint[i]) continue;
      const int64_t t = s.ts[i];
      switch (o.position) {
        case WindowPosition::kRight: out.push_back({t, t + o.window_ms}); break;
        case WindowPosition::kLeft: out.push_back({t - o.window_ms, t}); break;
        case WindowPosition::kCenter: out.push_back({t - o.window_ms / 2, t + o.window_ms / 2}); break;
      }
    }
    return out;
  }
  for (auto [first, last] : Runs(s.label)) {
    out.push_back({std::min(s.ts[first], s.ts[last]), std::max(s.ts[first], s.ts[last])});
  }
  return out;
}

NabTotals ScoreNab(const Series& s, const NabOptions& o) {
  const std::vector<size_t> detections = DetectionRows(s.predicted, o.detections);
  std::vector<Window> windows = ScoringWindows(s, o);
  if (o.scoring == NabScoring::kSkab) return ScoreSkab(s, detections, std::move(windows));
  return ScoreNumenta(s, detections, windows, o.probation);
}

}  // namespace vigil::evaluate
