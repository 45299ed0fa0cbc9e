// EngineOptions from YAML (config/detectors.yaml format), validated with
// messages that name the bad key.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <string>

#include "vigil/detect/detector.h"
#include "vigil/engine/engine.h"
#include "vigil/generated/default_detectors_yaml.h"

namespace vigil {

namespace {

// Copy a YAML node into a Params tree (scalars stay text).
Status ToParams(const YAML::Node& node, Params* out) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return Status::OK();
    case YAML::NodeType::Scalar:
      out->SetScalar(node.Scalar());
      return Status::OK();
    case YAML::NodeType::Sequence:
      for (const auto& el : node) VIGIL_RETURN_NOT_OK(ToParams(el, &out->Append()));
      return Status::OK();
    case YAML::NodeType::Map:
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return Status::Invalid(out->path() + ": keys must be plain strings");
        VIGIL_RETURN_NOT_OK(ToParams(kv.second, &out->Child(kv.first.Scalar())));
      }
      return Status::OK();
    default:
      return Status::Invalid(out->path() + ": unsupported YAML node");
  }
}

Status ParseCalibration(const Params& p, CalibrationOptions* c) {
  std::string kind = "logistic";
  VIGIL_RETURN_NOT_OK(p.Get("kind", &kind));
  if (kind == "identity") {
    c->kind = CalibrationOptions::Kind::kIdentity;
  } else if (kind == "logistic") {
    c->kind = CalibrationOptions::Kind::kLogistic;
  } else if (kind == "tail") {
    c->kind = CalibrationOptions::Kind::kTail;
  } else {
    return p.Error("kind", "expected identity, logistic or tail, got '" + kind + "'");
  }
  VIGIL_RETURN_NOT_OK(p.Get("center", &c->center));
  VIGIL_RETURN_NOT_OK(p.Get("scale", &c->scale));
  VIGIL_RETURN_NOT_OK(p.Get("warmup", &c->warmup));
  VIGIL_RETURN_NOT_OK(p.Get("halflife", &c->halflife));
  VIGIL_RETURN_NOT_OK(p.CheckAllUsed());
  return c->Validate(p.path());
}

// One detectors.<name> section: the ensemble keys, the rest goes to the detector.
Status ParseMember(const std::string& name, const Params& section, MemberOptions* m) {
  m->name = name;
  m->params = Params("detectors." + name);
  if (section.is_scalar() || section.is_sequence()) {
    return Status::Invalid(section.path() + ": expected a map of settings");
  }
  for (const std::string& key : section.Keys()) {
    const Params* child = section.Find(key);
    if (key == "enabled") {
      VIGIL_RETURN_NOT_OK(child->AsBool(&m->enabled));
    } else if (key == "weight") {
      VIGIL_RETURN_NOT_OK(child->AsDouble(&m->weight));
    } else if (key == "fire_threshold") {
      VIGIL_RETURN_NOT_OK(child->AsDouble(&m->fire_threshold));
    } else if (key == "refractory") {
      int64_t events = 0;
      VIGIL_RETURN_NOT_OK(child->AsInt(&events));
      if (events < 0 || events > 1000000) return Status::Invalid(child->path() + ": must be in [0, 1000000] events");
      m->refractory = static_cast<int32_t>(events);
    } else if (key == "calibration") {
      m->has_calibration = true;
      VIGIL_RETURN_NOT_OK(ParseCalibration(*child, &m->calibration));
    } else {
      m->params.Child(key) = *child;
      child->MarkAllUsed();  // the detector checks its own copy for unknown keys
    }
  }
  return Status::OK();
}

}  // namespace

EngineOptions EngineOptions::Defaults() {
  Result<EngineOptions> o = FromYaml(internal::kDefaultDetectorsYaml);
  VIGIL_DCHECK(o.ok(), "the built-in config/detectors.yaml must parse");
  return o.ok() ? std::move(o).ValueOrDie() : EngineOptions();
}

Result<EngineOptions> EngineOptions::FromYaml(std::string_view yaml_text) {
  YAML::Node root;
  try {  // yaml-cpp reports errors by exception; they stop here
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return Status::Invalid("detector config is not valid YAML: " + std::string(e.what()));
  }
  if (!root.IsMap()) return Status::Invalid("detector config: expected a YAML map at the top level");
  Params top("");
  VIGIL_RETURN_NOT_OK(ToParams(root, &top));

  EngineOptions o;
  int64_t version = 1;
  VIGIL_RETURN_NOT_OK(top.Get("version", &version));
  if (version != 1) return Status::Unsupported("version: detector config version " + std::to_string(version) +
                                               " is not supported (expected 1)");
  int64_t seed = static_cast<int64_t>(o.seed);
  VIGIL_RETURN_NOT_OK(top.Get("seed", &seed));
  if (seed < 0) return top.Error("seed", "must be >= 0");
  o.seed = static_cast<uint64_t>(seed);
  std::string explain = "anomalies";
  VIGIL_RETURN_NOT_OK(top.Get("explain", &explain));
  if (explain == "none") {
    o.explain = ExplainMode::kNone;
  } else if (explain == "anomalies") {
    o.explain = ExplainMode::kAnomalies;
  } else if (explain == "all") {
    o.explain = ExplainMode::kAll;
  } else {
    return top.Error("explain", "expected none, anomalies or all, got '" + explain + "'");
  }
  VIGIL_RETURN_NOT_OK(top.Get("max_metrics_per_device", &o.max_metrics_per_device));
  VIGIL_RETURN_NOT_OK(top.Get("top_attributions", &o.top_attributions));
  if (const Params* e = top.Find("ensemble")) {
    VIGIL_RETURN_NOT_OK(e->Get("threshold", &o.ensemble.threshold));
    VIGIL_RETURN_NOT_OK(e->Get("fire_threshold", &o.ensemble.fire_threshold));
    VIGIL_RETURN_NOT_OK(e->Get("min_fired", &o.ensemble.min_fired));
    VIGIL_RETURN_NOT_OK(e->Get("smoothing", &o.ensemble.smoothing));
    VIGIL_RETURN_NOT_OK(e->Get("smoothed_threshold", &o.ensemble.smoothed_threshold));
    VIGIL_RETURN_NOT_OK(e->Get("smoothed_release", &o.ensemble.smoothed_release));
  }
  const Params* dets = top.Find("detectors");
  if (dets == nullptr) return Status::Invalid("detectors: missing (list at least one detector)");
  if (dets->is_scalar() || dets->is_sequence()) return Status::Invalid("detectors: expected a map name -> settings");
  // Members keep the order of the file: the detector mask's bits follow it.
  std::vector<std::string> names;
  {
    YAML::Node d = root["detectors"];
    for (const auto& kv : d) names.push_back(kv.first.Scalar());
  }
  for (const std::string& name : names) {
    MemberOptions m;
    VIGIL_RETURN_NOT_OK(ParseMember(name, *dets->Find(name), &m));
    o.ensemble.members.push_back(std::move(m));
  }
  VIGIL_RETURN_NOT_OK(top.CheckAllUsed());
  VIGIL_RETURN_NOT_OK(o.Validate());
  return o;
}

Result<EngineOptions> EngineOptions::FromYamlFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read detector config '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  Result<EngineOptions> o = FromYaml(ss.str());
  if (!o.ok()) return o.status().WithContext(path);
  return o;
}

Status EngineOptions::Validate() const {
  VIGIL_RETURN_NOT_OK(ensemble.Validate());
  if (max_metrics_per_device < 1) return Status::Invalid("max_metrics_per_device: must be >= 1");
  if (top_attributions < 1) return Status::Invalid("top_attributions: must be >= 1");
  for (const auto& m : ensemble.members) {
    if (!m.enabled) continue;
    // Building the factory validates the detector's own settings.
    Result<std::unique_ptr<DetectorFactory>> f = DetectorRegistry::Global()->MakeFactory(m.name, m.params);
    if (!f.ok()) return f.status().code() == StatusCode::kNotFound ? f.status().WithContext("detectors." + m.name)
                                                                    : f.status();
  }
  return Status::OK();
}

}  // namespace vigil
