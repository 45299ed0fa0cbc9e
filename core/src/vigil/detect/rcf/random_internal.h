// The Random Cut Forest's own PRNG: xoshiro256** seeded by splitmix64.
//
// Small, fast and fully serializable (four 64-bit words), so that a forest
// restored from its state blob draws exactly the numbers it would have drawn.
#pragma once

#include <array>
#include <cstdint>

namespace vigil::internal {

/// \brief xoshiro256** (Blackman and Vigna), seeded through splitmix64.
class RcfRandom {
 public:
  using State = std::array<uint64_t, 4>;

  explicit RcfRandom(uint64_t seed = 0) { Seed(seed); }

  /// \brief Reset the generator from a 64-bit seed.
  void Seed(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(&seed);
  }

  /// \brief Return the next 64 random bits.
  uint64_t Next() {
    const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = RotateLeft(state_[3], 45);
    return result;
  }

  /// \brief Return a uniform double in [0, 1) with 53 random bits.
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  /// \brief Return a uniform double in (0, 1): never zero, so log() is finite.
  double NextOpenDouble() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }

  const State& state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

  /// \brief Whether `state` is a state xoshiro can be in (it must not be all zero).
  static bool IsValidState(const State& state) {
    return (state[0] | state[1] | state[2] | state[3]) != 0;
  }

  static uint64_t SplitMix64(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  static uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  State state_{};
};

}  // namespace vigil::internal
