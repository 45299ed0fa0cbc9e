#include <mutex>
#include <string>

#include "vigil/detect/builtin.h"
#include "vigil/detect/detector.h"
#include "vigil/detect/pca.h"

namespace vigil {

namespace {

template <typename Options, auto MakeFactory>
Result<std::unique_ptr<DetectorFactory>> MakeFromParams(const Params& p) {
  VIGIL_ASSIGN_OR_RAISE(Options o, Options::FromParams(p));
  return MakeFactory(o);
}

}  // namespace

Status DetectorRegistry::Register(std::string name, DetectorFactoryMaker maker) {
  if (name.empty() || maker == nullptr) return Status::Invalid("DetectorRegistry: empty name or maker");
  if (makers_.count(name)) return Status::Invalid("detector '" + name + "' is already registered");
  makers_.emplace(std::move(name), maker);
  return Status::OK();
}

Result<std::unique_ptr<DetectorFactory>> DetectorRegistry::MakeFactory(std::string_view name,
                                                                       const Params& params) const {
  auto it = makers_.find(name);
  if (it == makers_.end()) {
    std::string known;
    for (const auto& [n, m] : makers_) known += (known.empty() ? "" : ", ") + n;
    return Status::NotFound("unknown detector '" + std::string(name) + "' (known: " + known + ")");
  }
  return it->second(params);
}

std::vector<std::string> DetectorRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [n, m] : makers_) out.push_back(n);
  return out;
}

Status RegisterBuiltinDetectors(DetectorRegistry* r) {
  VIGIL_RETURN_NOT_OK(r->Register("ewma", &MakeFromParams<EwmaOptions, MakeEwmaFactory>));
  VIGIL_RETURN_NOT_OK(r->Register("robust", &MakeFromParams<RobustOptions, MakeRobustFactory>));
  VIGIL_RETURN_NOT_OK(r->Register("cusum", &MakeFromParams<CusumOptions, MakeCusumFactory>));
  VIGIL_RETURN_NOT_OK(r->Register("page_hinkley", &MakeFromParams<PageHinkleyOptions, MakePageHinkleyFactory>));
  VIGIL_RETURN_NOT_OK(r->Register("rules", &MakeFromParams<RulesOptions, MakeRulesFactory>));
  VIGIL_RETURN_NOT_OK(r->Register("gap", &MakeFromParams<GapOptions, MakeGapFactory>));
  return r->Register("pca", &MakeFromParams<PcaOptions, MakePcaFactory>);
}

DetectorRegistry* DetectorRegistry::Global() {
  static DetectorRegistry* registry = [] {
    static DetectorRegistry instance;
    DetectorRegistry* r = &instance;
    Status st = RegisterBuiltinDetectors(r);
    VIGIL_DCHECK(st.ok(), "built-in detectors must register");
#ifdef VIGIL_HAVE_RCF
    st = RegisterRcfDetector(r);
    VIGIL_DCHECK(st.ok(), "the rcf detector must register");
#endif
    (void)st;
    return r;
  }();
  return registry;
}

}  // namespace vigil
