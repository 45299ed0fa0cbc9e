// rng.h: the simulator's seeded random numbers.
//
// One small, portable generator (xoshiro256**, seeded through splitmix64) and
// the few distributions the simulator needs, written out here rather than
// taken from <random>, whose distributions may differ between standard
// libraries. The same seed gives the same numbers on every platform.
//
//   vigil::sim::Rng rng(vigil::sim::Rng::Derive(seed, device_index));
//   double x = rng.Normal(0.0, 1.0);
#pragma once

#include <cmath>
#include <cstdint>

namespace vigil::sim {

/// \brief A seeded xoshiro256** generator with uniform, normal and Bernoulli draws.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& s : s_) s = SplitMix(&x);
  }

  /// \brief Return a seed for a sub-stream `stream` of `seed` (devices, injectors).
  static uint64_t Derive(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (0x9E3779B97F4A7C15ULL * (stream + 1));
    return SplitMix(&x);
  }

  /// \brief Return 64 uniformly random bits.
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  /// \brief Return a uniform double in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  /// \brief Return a uniform double in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

  /// \brief Return a uniform integer in [lo, hi] (inclusive).
  int64_t UniformInt(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(Next() % span);
  }

  /// \brief Return true with probability `p`.
  bool Bernoulli(double p) { return p > 0.0 && Uniform() < p; }

  /// \brief Return a normal draw (Box-Muller; the spare value is kept).
  double Normal(double mean, double sd) {
    if (has_spare_) {
      has_spare_ = false;
      return mean + sd * spare_;
    }
    double u1 = Uniform();
    while (u1 <= 0.0) u1 = Uniform();
    const double u2 = Uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    constexpr double kTwoPi = 6.283185307179586;
    spare_ = r * std::sin(kTwoPi * u2);
    has_spare_ = true;
    return mean + sd * r * std::cos(kTwoPi * u2);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t* x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace vigil::sim
