// vigil/state/state.h: compact, versioned binary blobs for detector state.
//
// A blob is   "VGST" | u16 format version | u16 flags | u32 payload bytes | payload | u32 CRC32
// (little-endian; the CRC covers everything before it). The payload is a sequence
// of fields, each a varint key (id << 3 | wire type) and a value, like protobuf:
// varints, fixed 64-bit doubles, length-delimited strings / packed doubles, and
// nested objects. Field ids are stable: a removed field keeps its id reserved
// (never reuse it), readers skip ids they do not ask for, and fields are written
// in increasing id order within an object.
//
//   vigil::StateWriter w;
//   w.WriteDouble(1, mean_);
//   w.WriteUInt(2, count_);
//   std::string blob = w.Finish();
//
//   VIGIL_ASSIGN_OR_RAISE(auto r, vigil::StateReader::Open(blob));
//   VIGIL_RETURN_NOT_OK(r.ReadDouble(1, &mean_));
//   VIGIL_RETURN_NOT_OK(r.ReadUInt(2, &count_));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

/// \brief The blob format version this build writes (and the newest it reads).
inline constexpr uint16_t kStateFormatVersion = 1;

/// \brief Return the CRC-32 (IEEE, as zlib) of `data`, continuing from `crc`.
uint32_t Crc32(std::string_view data, uint32_t crc = 0);

/// \brief Writes fields; Finish() seals them into a blob with header and checksum.
class StateWriter {
 public:
  StateWriter();

  void WriteBool(uint32_t id, bool v) { WriteUInt(id, v ? 1 : 0); }
  void WriteUInt(uint32_t id, uint64_t v);
  void WriteInt(uint32_t id, int64_t v);
  void WriteDouble(uint32_t id, double v);
  void WriteString(uint32_t id, std::string_view v);
  void WriteDoubles(uint32_t id, std::span<const double> v);
  void WriteUInts(uint32_t id, std::span<const uint64_t> v);

  /// \brief Open a nested object; fields until EndObject() belong to it (ids restart).
  void BeginObject(uint32_t id);
  void EndObject();

  /// \brief Bytes of payload written so far.
  size_t size() const;
  /// \brief Make room for a payload of this many bytes (a hint: saves regrowing a large blob).
  void Reserve(size_t payload_bytes);

  /// \brief Return the sealed blob (header + payload + CRC) and reset the writer.
  std::string Finish();
  /// \brief Return the raw payload (no header) and reset; for embedding in another writer.
  std::string TakePayload();
  /// \brief Append a raw payload from TakePayload() as a nested object.
  void WriteObjectPayload(uint32_t id, std::string_view payload);

 private:
  void Key(uint32_t id, uint32_t wire);
  void Varint(uint64_t v);
  std::string buf_;           // the header's bytes (written by Finish), then the payload
  std::vector<size_t> open_;  // offsets of open objects' length slots
};

/// \brief Reads the fields of one object in a blob. Cheap to copy (a view).
///
/// Every read asks for an id; fields with smaller ids that nobody asks for are
/// skipped, so old readers ignore new fields and removed ids cost nothing.
/// Errors are Corrupt (truncated, wrong wire type, bad checksum) or Unsupported
/// (newer format), with a message naming the field id.
class StateReader {
 public:
  /// \brief Check magic, version, length and CRC of a blob; return a reader on its payload.
  static Result<StateReader> Open(std::string_view blob);
  /// \brief A reader over a raw payload (no header), e.g. from TakePayload().
  static StateReader FromPayload(std::string_view payload) { return StateReader(payload); }

  Status ReadBool(uint32_t id, bool* out);
  Status ReadUInt(uint32_t id, uint64_t* out);
  Status ReadInt(uint32_t id, int64_t* out);
  Status ReadDouble(uint32_t id, double* out);
  Status ReadString(uint32_t id, std::string* out);
  Status ReadStringView(uint32_t id, std::string_view* out);
  Status ReadDoubles(uint32_t id, std::vector<double>* out);
  Status ReadUInts(uint32_t id, std::vector<uint64_t>* out);
  /// \brief Read a nested object and return a reader over it.
  Result<StateReader> ReadObject(uint32_t id);
  /// \brief Raw payload of a nested object (for FromPayload).
  Status ReadObjectPayload(uint32_t id, std::string_view* out);

  /// \brief True if the next unread field has this id (for optional fields).
  bool Has(uint32_t id);
  /// \brief True when every field has been consumed or skipped.
  bool AtEnd() const { return pos_ >= data_.size(); }
  /// \brief Format version of the blob this reader came from.
  uint16_t format_version() const { return version_; }

 private:
  explicit StateReader(std::string_view data, uint16_t version = kStateFormatVersion)
      : data_(data), version_(version) {}
  Status Seek(uint32_t id, uint32_t wire);
  Status SkipValue(uint32_t wire);
  Status Varint(uint64_t* out);
  Status LengthDelimited(uint32_t id, std::string_view* out);

  std::string_view data_;
  size_t pos_ = 0;
  uint16_t version_;
};

}  // namespace vigil
