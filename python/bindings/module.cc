// vigil._core: the Python binding of the C++ core. Marshalling only.
//
// Batch in, batch out. Raw Kafka values arrive as the buffers of an Arrow binary
// column (uint8 data + int32 offsets, zero-copy numpy views); results leave as
// numpy arrays that own C++ vectors (no copy); a string column is the pair (data,
// offsets) of an Arrow string array's buffers (vigil.arrow.string_array), so an
// anomaly costs no Python object. State crosses as bytes. Every non-OK Status becomes the Python
// exception that vigil.errors maps its code to; nothing else throws.
//
//   router = _core.Router(num_buckets=16)
//   bucket, ts_ms, reason = router.route(data, offsets)
//   engine = _core.Engine()            # or _core.Engine(yaml_text)
//   out = engine.process(data, offsets) # scores then learns; out["state"] is separate
//   out = engine.process_batch([(data, offsets, None)], partition, offset, watermark_ms)  # the job's call
//
// The Kafka range reader's binding is in kafka.cc; the shared marshalling in marshal.h.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vigil/engine/engine.h"
#include "vigil/engine/event_time_order.h"
#include "vigil/event/decoder.h"
#include "vigil/event/event_batch.h"
#include "vigil/status.h"
#include "marshal.h"

namespace nb = nanobind;

namespace vigil::py {
namespace {

// The buffers of an Arrow binary array: data, n + 1 offsets, optional validity bitmap.
struct BinaryColumn {
  const uint8_t* data;
  const int32_t* offsets;
  int64_t n;
  const uint8_t* validity;
};

BinaryColumn ViewColumn(const Bytes& data, const Offsets32& offsets, const std::optional<Bytes>& validity) {
  if (offsets.shape(0) < 1) throw StatusError{Status::Invalid("offsets: need n + 1 >= 1 entries")};
  int64_t n = static_cast<int64_t>(offsets.shape(0)) - 1;
  const int32_t* off = offsets.data();
  if (off[n] < off[0] || static_cast<size_t>(off[n]) > data.shape(0)) {
    throw StatusError{Status::Invalid("offsets: last offset " + std::to_string(off[n]) +
                                      " outside the data buffer of " + std::to_string(data.shape(0)) +
                                      " bytes")};
  }
  if (validity && static_cast<int64_t>(validity->shape(0)) * 8 < n) {
    throw StatusError{Status::Invalid("validity: bitmap shorter than n bits")};
  }
  static const uint8_t kEmpty = 0;
  return {data.shape(0) ? data.data() : &kEmpty, off, n, validity ? validity->data() : nullptr};
}

// FNV-1a 64 over `s`, continuing from `h`.
uint64_t Fnv1a(std::string_view s, uint64_t h = 14695981039346656037ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t Mix64(uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// 128-bit deterministic id of (device, metric, event, detector version), as 32 hex digits.
std::string AnomalyId(std::string_view device, std::string_view metric, std::string_view event_id,
                      std::string_view version) {
  uint64_t a = 14695981039346656037ULL;
  uint64_t b = 0x84222325cbf29ce4ULL;
  for (std::string_view part : {device, metric, event_id, version}) {
    a = Fnv1a(part, a) ^ 0x1f;
    a *= 1099511628211ULL;
    b = Mix64(Fnv1a(part, b) + part.size());
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  uint64_t words[2] = {Mix64(a), Mix64(b ^ a)};
  for (int w = 0; w < 2; ++w) {
    for (int i = 0; i < 16; ++i) out[w * 16 + i] = kHex[(words[w] >> (60 - 4 * i)) & 0xF];
  }
  return out;
}

// Routes raw events to hash buckets by device_id; rejects get bucket -1.
class Router {
 public:
  explicit Router(int32_t num_buckets, const DecoderOptions& options) : num_buckets_(num_buckets) {
    if (num_buckets < 1) throw StatusError{Status::Invalid("num_buckets must be >= 1")};
    decoder_ = Unwrap(Decoder::Make(options));
  }

  nb::tuple Route(const Bytes& data, const Offsets32& offsets, const std::optional<Bytes>& validity) {
    BinaryColumn col = ViewColumn(data, offsets, validity);
    std::vector<int32_t> bucket(col.n, -1);
    std::vector<int64_t> ts(col.n, 0);
    std::vector<int16_t> reason(col.n, -1);
    {
      nb::gil_scoped_release release;
      Check(decoder_->Decode(col.data, col.offsets, col.n, &batch_, &rejects_, col.validity));
      for (int64_t i = 0; i < batch_.size(); ++i) {
        uint32_t src = batch_.source_index(i);
        bucket[src] = static_cast<int32_t>(Mix64(Fnv1a(batch_.device_id(i))) % num_buckets_);
        ts[src] = batch_.ts_ms(i);
      }
      for (const Reject& r : rejects_) reason[r.index] = static_cast<int16_t>(r.reason);
    }
    return nb::make_tuple(ToNumpy(std::move(bucket)), ToNumpy(std::move(ts)), ToNumpy(std::move(reason)));
  }

 private:
  int32_t num_buckets_;
  std::unique_ptr<Decoder> decoder_;
  EventBatch batch_;
  std::vector<Reject> rejects_;
};

// One bucket's engine: load state, decode + score + learn a batch, save state.
class PyEngine {
 public:
  PyEngine(const std::string& yaml_text, const DecoderOptions& decoder_options) {
    EngineOptions opts = yaml_text.empty() ? EngineOptions::Defaults() : Unwrap(EngineOptions::FromYaml(yaml_text));
    engine_ = Unwrap(Engine::Make(opts));
    decoder_ = Unwrap(Decoder::Make(decoder_options));
  }

  // Decode the values (already in event-time order), score and learn them. Returns the
  // anomalies (with their input index), the rejects, and counts; state stays in the engine.
  nb::dict Process(const Bytes& data, const Offsets32& offsets, const std::optional<Bytes>& validity) {
    BinaryColumn col = ViewColumn(data, offsets, validity);
    {
      nb::gil_scoped_release release;
      Check(decoder_->Decode(col.data, col.offsets, col.n, &batch_, &rejects_, col.validity));
    }
    return ScoreDecoded();
  }

  // The Spark job's call: the values of several binary columns ((data, offsets, validity),
  // numbered one after the other) with each value's Kafka partition and offset. Decodes
  // them once, splits them at the watermark (<= 0: none), scores and learns the rest in
  // (event time, partition, offset) order (vigil/engine/event_time_order.h). Besides
  // Process's output: late_index / late_ts_ms (input positions and event times of the
  // late events) and max_event_ms / min_live_event_ms (None when there are none);
  // n_valid counts the events scored, late ones not included.
  nb::dict ProcessBatch(const std::vector<std::tuple<Bytes, Offsets32, std::optional<Bytes>>>& chunks,
                        const nb::ndarray<const int32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>& partition,
                        const nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>& offset,
                        int64_t watermark_ms) {
    std::vector<BinaryColumn> cols;
    int64_t n = 0;
    for (const auto& [data, offsets, validity] : chunks) {
      cols.push_back(ViewColumn(data, offsets, validity));
      n += cols.back().n;
    }
    if (static_cast<int64_t>(partition.shape(0)) != n || static_cast<int64_t>(offset.shape(0)) != n) {
      throw StatusError{Status::Invalid("process_batch: " + std::to_string(n) + " values but " +
                                        std::to_string(partition.shape(0)) + " partitions and " +
                                        std::to_string(offset.shape(0)) + " offsets")};
    }
    std::vector<uint32_t> late_index;
    std::vector<int64_t> late_ts;
    {
      nb::gil_scoped_release release;
      refs_.resize(n);
      int64_t k = 0;
      for (const BinaryColumn& col : cols) {
        for (int64_t j = 0; j < col.n; ++j, ++k) {
          if (col.validity != nullptr && !((col.validity[j >> 3] >> (j & 7)) & 1)) {
            refs_[k] = {nullptr, 0, 0};
            continue;
          }
          const int32_t b = col.offsets[j], e = col.offsets[j + 1], end = col.offsets[col.n];
          refs_[k] = {col.data + b, static_cast<size_t>(e - b), static_cast<size_t>(end - b)};
        }
      }
      Check(decoder_->DecodeRefs(refs_.data(), n, &batch_, &rejects_));
      Check(OrderByEventTime(batch_, watermark_ms, {partition.data(), static_cast<size_t>(n)},
                             {offset.data(), static_cast<size_t>(n)}, &order_));
      for (uint32_t i : order_.late) {
        late_index.push_back(batch_.source_index(i));
        late_ts.push_back(batch_.ts_ms(i));
      }
    }
    nb::dict out = ScoreDecoded(&order_.live);
    out["n_valid"] = order_.live.size();  // scored: the late ones are counted apart
    out["late_index"] = ToNumpy(std::move(late_index));
    out["late_ts_ms"] = ToNumpy(std::move(late_ts));
    const bool any = batch_.size() > 0, any_live = !order_.live.empty();
    out["max_event_ms"] = any ? nb::cast(order_.max_ts_ms) : nb::none();
    out["min_live_event_ms"] = any_live ? nb::cast(order_.min_live_ts_ms) : nb::none();
    return out;
  }

 private:
  // Score and learn batch_ (decoded; only `rows`, in that order, if given); export the
  // anomalies and rejects_. An anomaly's index is its event's source_index.
  nb::dict ScoreDecoded(const std::vector<uint32_t>* rows = nullptr) {
    std::vector<uint32_t> a_index;
    std::vector<double> a_score, a_value, a_lo, a_hi;
    std::vector<int16_t> a_severity;
    std::vector<int64_t> a_ts;
    StringColumnOut a_id, a_event, a_device, a_metric, a_detectors, a_explanation;
    std::vector<uint32_t> r_index;
    std::vector<int16_t> r_reason;
    std::vector<std::string> r_detail;
    {
      nb::gil_scoped_release release;
      Check(rows ? engine_->ProcessRows(batch_, *rows, &verdicts_) : engine_->Process(batch_, &verdicts_));
      const std::string& version = engine_->detector_version();
      for (int64_t v = 0; v < verdicts_.size(); ++v) {
        if (!verdicts_.is_anomaly[v]) continue;
        const int64_t i = rows ? (*rows)[v] : v;  // the verdict's row of batch_
        uint32_t src = verdicts_.index[v];
        a_index.push_back(src);
        a_score.push_back(verdicts_.score[v]);
        a_severity.push_back(verdicts_.severity[v]);
        a_value.push_back(verdicts_.observed[v]);
        a_lo.push_back(verdicts_.expected_lo[v]);
        a_hi.push_back(verdicts_.expected_hi[v]);
        a_ts.push_back(batch_.ts_ms(i));
        a_event.Append(batch_.event_id(i));
        a_device.Append(batch_.device_id(i));
        a_metric.Append(verdicts_.top_metric[v]);
        a_detectors.Append(DetectorMaskNames(verdicts_.detector_mask[v], engine_->detector_names()));
        a_explanation.Append(verdicts_.explanation_json[v]);
        a_id.Append(AnomalyId(batch_.device_id(i), verdicts_.top_metric[v], batch_.event_id(i), version));
      }
      for (Reject& r : rejects_) {
        r_index.push_back(r.index);
        r_reason.push_back(static_cast<int16_t>(r.reason));
        r_detail.push_back(std::move(r.detail));
      }
    }
    nb::dict out;
    out["n_valid"] = batch_.size();
    out["index"] = ToNumpy(std::move(a_index));
    out["score"] = ToNumpy(std::move(a_score));
    out["severity"] = ToNumpy(std::move(a_severity));
    out["value"] = ToNumpy(std::move(a_value));
    out["expected_low"] = ToNumpy(std::move(a_lo));
    out["expected_high"] = ToNumpy(std::move(a_hi));
    out["event_time_ms"] = ToNumpy(std::move(a_ts));
    out["anomaly_id"] = a_id.Release();
    out["event_id"] = a_event.Release();
    out["device_id"] = a_device.Release();
    out["metric"] = a_metric.Release();
    out["detectors"] = a_detectors.Release();
    out["explanation"] = a_explanation.Release();
    out["reject_index"] = ToNumpy(std::move(r_index));
    out["reject_reason"] = ToNumpy(std::move(r_reason));
    out["reject_detail"] = std::move(r_detail);
    return out;
  }

 public:
  nb::bytes SaveAll() const {
    std::string blob = engine_->SaveAll();
    return nb::bytes(blob.data(), blob.size());
  }
  void LoadAll(nb::bytes blob) {
    std::string_view view(static_cast<const char*>(blob.data()), blob.size());
    nb::gil_scoped_release release;
    Check(engine_->LoadAll(view));
  }
  void Clear() { engine_->Clear(); }
  int64_t num_devices() const { return engine_->num_devices(); }
  int64_t memory_bytes() const { return engine_->memory_bytes(); }
  const std::string& detector_version() const { return engine_->detector_version(); }
  std::vector<std::string> detector_names() const { return engine_->detector_names(); }

 private:
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Decoder> decoder_;
  EventBatch batch_;
  std::vector<Reject> rejects_;
  std::vector<ValueRef> refs_;
  VerdictBatch verdicts_;
  EventTimeOrder order_;
};

void RaiseStatus(const StatusError& e) {
  nb::object errors = nb::module_::import_("vigil.errors");
  nb::object exc = errors.attr("from_status")(static_cast<int>(e.status.code()), e.status.message());
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
}

std::vector<std::string> RejectReasonNames() {
  std::vector<std::string> names;
  for (int r = 0; r <= static_cast<int>(RejectReason::kNullInput); ++r) {
    names.emplace_back(RejectReasonName(static_cast<RejectReason>(r)));
  }
  return names;
}

}  // namespace
}  // namespace vigil::py

NB_MODULE(_core, m) {
  using namespace nb::literals;  // NOLINT: the binding's argument names
  using vigil::py::PyEngine;
  using vigil::py::Router;
  m.doc() = "Vigil's C++ core: event decoding, bucket routing and the detection engine.";
  // The job keeps a Router, Engine and Kafka reader per Python worker in module-level
  // caches until the interpreter exits, which nanobind would report as leaks at exit.
  nb::set_leak_warnings(false);

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const vigil::py::StatusError& e) {
      vigil::py::RaiseStatus(e);
    }
  });

  m.def("reject_reason_names", &vigil::py::RejectReasonNames,
        "Return the stable reject reason names; index = reason code.");
  m.def("anomaly_id", [](std::string_view device, std::string_view metric, std::string_view event_id,
                         std::string_view version) { return vigil::py::AnomalyId(device, metric, event_id, version); },
        "device_id"_a, "metric"_a, "event_id"_a, "detector_version"_a,
        "Return the 32-hex-digit anomaly id the engine assigns to (device, metric, event, version).");

  nb::class_<Router>(m, "Router", "Assigns each raw event to a hash bucket of its device_id.")
      .def("__init__", [](Router* self, int32_t num_buckets, int64_t max_payload_bytes) {
             vigil::DecoderOptions opts = vigil::DecoderOptions::Defaults();
             opts.max_payload_bytes = max_payload_bytes;
             vigil::py::Check(opts.Validate());
             new (self) Router(num_buckets, opts);
           }, "num_buckets"_a, "max_payload_bytes"_a = vigil::DecoderOptions::Defaults().max_payload_bytes)
      .def("route", &Router::Route, "data"_a, "offsets"_a, "validity"_a = nb::none(),
           "Return (bucket int32, ts_ms int64, reason int16) per value; bucket -1 and reason >= 0 for rejects.");

  nb::class_<PyEngine>(m, "Engine", "Per-device detector state and scoring for one bucket.")
      .def("__init__", [](PyEngine* self, const std::string& yaml_text, int64_t max_payload_bytes) {
             vigil::DecoderOptions opts = vigil::DecoderOptions::Defaults();
             opts.max_payload_bytes = max_payload_bytes;
             vigil::py::Check(opts.Validate());
             new (self) PyEngine(yaml_text, opts);
           }, "config_yaml"_a = "", "max_payload_bytes"_a = vigil::DecoderOptions::Defaults().max_payload_bytes)
      .def("process", &PyEngine::Process, "data"_a, "offsets"_a, "validity"_a = nb::none(),
           "Decode, score and learn values in order; return anomalies, rejects and counts.")
      .def("process_batch", &PyEngine::ProcessBatch, "chunks"_a, "partition"_a, "offset"_a, "watermark_ms"_a,
           "The job's call: values of several binary columns with each one's Kafka partition (int32) and "
           "offset (int64), decoded once; events before watermark_ms (<= 0: none) are late, the rest are "
           "scored and learned in (event time, partition, offset) order. Adds late_index, late_ts_ms, "
           "max_event_ms and min_live_event_ms to process()'s output.")
      .def("save_all", &PyEngine::SaveAll, "Return every device's state as one blob.")
      .def("load_all", &PyEngine::LoadAll, "blob"_a, "Add the devices of a save_all() blob.")
      .def("clear", &PyEngine::Clear, "Forget every device.")
      .def_prop_ro("num_devices", &PyEngine::num_devices)
      .def_prop_ro("memory_bytes", &PyEngine::memory_bytes)
      .def_prop_ro("detector_version", &PyEngine::detector_version)
      .def_prop_ro("detector_names", &PyEngine::detector_names);

  vigil::py::BindKafka(m);
  vigil::py::BindRecords(m);
}
