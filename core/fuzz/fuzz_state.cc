// libFuzzer target: the state loader. Odd first byte: the rest is wrapped in a
// valid header and checksum so the fuzzer reaches the field parser behind the
// CRC; even: the bytes are used as a whole blob. Loading must fail cleanly or
// succeed, never crash; a loaded state must process events and save again.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vigil/engine/engine.h"
#include "vigil/state/state.h"

namespace {

std::string Wrap(std::string_view payload) {
  std::string blob = "VGST";
  blob.push_back(static_cast<char>(vigil::kStateFormatVersion));
  blob.append(3, '\0');
  const uint32_t n = static_cast<uint32_t>(payload.size());
  for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((n >> (8 * k)) & 0xFF));
  blob.append(payload);
  const uint32_t crc = vigil::Crc32(blob);
  for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((crc >> (8 * k)) & 0xFF));
  return blob;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string blob = (data[0] & 1) ? Wrap(in) : std::string(in);
  static std::unique_ptr<vigil::Engine> engine =
      std::move(vigil::Engine::Make(vigil::EngineOptions::Defaults())).ValueOrDie();
  engine->Clear();
  const bool all_ok = engine->LoadAll(blob).ok();
  const bool dev_ok = engine->LoadDevice("dev-1", blob).ok();
  if (all_ok || dev_ok) {
    vigil::EventBatchBuilder b;
    b.BeginEvent(0, "e", "dev-1", 1795428000000LL, 1, "pump");
    b.AddMetric("m0", 1.0);
    if (!b.FinishEvent().ok()) __builtin_trap();
    vigil::VerdictBatch v;
    if (!engine->Process(b.Finish(), &v).ok()) __builtin_trap();
    (void)engine->SaveAll();
  }
  return 0;
}
