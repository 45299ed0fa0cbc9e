#include "vigil/state/state.h"

#include <array>
#include <bit>
#include <cstring>
#include <string>

namespace vigil {

namespace {

constexpr char kMagic[4] = {'V', 'G', 'S', 'T'};
constexpr size_t kHeaderBytes = 12;  // magic, u16 version, u16 flags, u32 payload length
constexpr size_t kCrcBytes = 4;

// Wire types (low 3 bits of a key), as in protobuf.
constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireFixed64 = 1;
constexpr uint32_t kWireBytes = 2;   // varint length + bytes
constexpr uint32_t kWireObject = 3;  // fixed u32 length + fields

// Slicing-by-8 (Intel's, as zlib's "braided" CRC): eight 256-entry tables, eight
// bytes per step. Table 0 is the byte-wise table; table k advances an entry of
// table k-1 by one more zero byte.
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;
constexpr CrcTables MakeCrcTables() {
  CrcTables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
  }
  return t;
}
constexpr CrcTables kCrc = MakeCrcTables();

void PutU32(std::string* s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint16_t GetU16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}

const char* WireName(uint32_t wire) {
  switch (wire) {
    case kWireVarint: return "varint";
    case kWireFixed64: return "fixed64";
    case kWireBytes: return "bytes";
    case kWireObject: return "object";
    default: return "unknown";
  }
}

}  // namespace

uint32_t Crc32(std::string_view data, uint32_t crc) {
  crc = ~crc;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  if constexpr (std::endian::native == std::endian::little) {
    for (; n >= 8; n -= 8, p += 8) {
      uint32_t lo, hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + 4, 4);
      lo ^= crc;
      crc = kCrc[7][lo & 0xFF] ^ kCrc[6][(lo >> 8) & 0xFF] ^ kCrc[5][(lo >> 16) & 0xFF] ^ kCrc[4][lo >> 24] ^
            kCrc[3][hi & 0xFF] ^ kCrc[2][(hi >> 8) & 0xFF] ^ kCrc[1][(hi >> 16) & 0xFF] ^ kCrc[0][hi >> 24];
    }
  }
  for (; n > 0; --n, ++p) crc = kCrc[0][(crc ^ *p) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

// ---- StateWriter ------------------------------------------------------------
//
// buf_ holds the header's bytes (filled in by Finish) and then the payload, so
// that Finish seals the blob in place instead of copying the payload. Each
// field is composed in a small local buffer and appended once.

namespace {

constexpr size_t kMaxVarint = 10;

// Write v as a varint at p; return the bytes written.
inline size_t PutVarint(char* p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<char>(v);
  return n;
}

inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline size_t PutKey(char* p, uint32_t id, uint32_t wire) {
  return PutVarint(p, (static_cast<uint64_t>(id) << 3) | wire);
}

}  // namespace

StateWriter::StateWriter() {
  buf_.reserve(256);
  buf_.assign(kHeaderBytes, '\0');
}

void StateWriter::Reserve(size_t payload_bytes) { buf_.reserve(kHeaderBytes + payload_bytes + kCrcBytes); }

size_t StateWriter::size() const { return buf_.size() - kHeaderBytes; }

void StateWriter::Varint(uint64_t v) {
  char b[kMaxVarint];
  buf_.append(b, PutVarint(b, v));
}

void StateWriter::Key(uint32_t id, uint32_t wire) { Varint((static_cast<uint64_t>(id) << 3) | wire); }

void StateWriter::WriteUInt(uint32_t id, uint64_t v) {
  char b[2 * kMaxVarint];
  size_t n = PutKey(b, id, kWireVarint);
  n += PutVarint(b + n, v);
  buf_.append(b, n);
}

void StateWriter::WriteInt(uint32_t id, int64_t v) {
  WriteUInt(id, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));  // zigzag
}

void StateWriter::WriteDouble(uint32_t id, double v) {
  char b[kMaxVarint + 8];
  const size_t n = PutKey(b, id, kWireFixed64);
  std::memcpy(b + n, &v, 8);
  buf_.append(b, n + 8);
}

void StateWriter::WriteString(uint32_t id, std::string_view v) {
  char b[2 * kMaxVarint];
  size_t n = PutKey(b, id, kWireBytes);
  n += PutVarint(b + n, v.size());
  buf_.append(b, n);
  buf_.append(v.data(), v.size());
}

void StateWriter::WriteDoubles(uint32_t id, std::span<const double> v) {
  char b[2 * kMaxVarint];
  size_t n = PutKey(b, id, kWireBytes);
  n += PutVarint(b + n, v.size() * 8);
  buf_.append(b, n);
  if (!v.empty()) buf_.append(reinterpret_cast<const char*>(v.data()), v.size() * 8);
}

void StateWriter::WriteUInts(uint32_t id, std::span<const uint64_t> v) {
  size_t len = 0;
  for (uint64_t x : v) len += VarintSize(x);
  char b[2 * kMaxVarint];
  size_t n = PutKey(b, id, kWireBytes);
  n += PutVarint(b + n, len);
  const size_t at = buf_.size();
  buf_.resize(at + n + len);
  char* p = buf_.data() + at;
  std::memcpy(p, b, n);
  p += n;
  for (uint64_t x : v) p += PutVarint(p, x);
}

void StateWriter::BeginObject(uint32_t id) {
  char b[kMaxVarint + 4] = {};
  const size_t n = PutKey(b, id, kWireObject);
  buf_.append(b, n + 4);  // the length, set by EndObject
  open_.push_back(buf_.size() - 4);
}

void StateWriter::EndObject() {
  const size_t at = open_.back();
  open_.pop_back();
  PutU32(&buf_, at, static_cast<uint32_t>(buf_.size() - at - 4));
}

void StateWriter::WriteObjectPayload(uint32_t id, std::string_view payload) {
  Key(id, kWireObject);
  const size_t at = buf_.size();
  buf_.append(4, '\0');
  PutU32(&buf_, at, static_cast<uint32_t>(payload.size()));
  buf_.append(payload.data(), payload.size());
}

std::string StateWriter::TakePayload() {
  std::string out = buf_.substr(kHeaderBytes);
  buf_.assign(kHeaderBytes, '\0');
  open_.clear();
  return out;
}

std::string StateWriter::Finish() {
  const size_t payload = buf_.size() - kHeaderBytes;
  std::memcpy(buf_.data(), kMagic, 4);
  buf_[4] = static_cast<char>(kStateFormatVersion & 0xFF);
  buf_[5] = static_cast<char>(kStateFormatVersion >> 8);
  buf_[6] = buf_[7] = '\0';  // flags
  PutU32(&buf_, 8, static_cast<uint32_t>(payload));
  const uint32_t crc = Crc32(buf_);
  buf_.append(4, '\0');
  PutU32(&buf_, buf_.size() - 4, crc);
  std::string out = std::move(buf_);
  buf_.assign(kHeaderBytes, '\0');
  open_.clear();
  return out;
}

// ---- StateReader ------------------------------------------------------------

Result<StateReader> StateReader::Open(std::string_view blob) {
  if (blob.size() < kHeaderBytes + kCrcBytes) {
    return Status::Corrupt("state blob truncated: " + std::to_string(blob.size()) +
                           " bytes, a blob has at least 16");
  }
  if (std::memcmp(blob.data(), kMagic, 4) != 0) {
    return Status::Corrupt("not a vigil state blob (bad magic)");
  }
  const uint16_t version = GetU16(blob.data() + 4);
  const uint32_t length = GetU32(blob.data() + 8);
  if (static_cast<uint64_t>(length) + kHeaderBytes + kCrcBytes != blob.size()) {
    return Status::Corrupt("state blob truncated or padded: header says " + std::to_string(length) +
                           " payload bytes, blob has " +
                           std::to_string(blob.size() - kHeaderBytes - kCrcBytes));
  }
  const uint32_t want = GetU32(blob.data() + blob.size() - 4);
  const uint32_t got = Crc32(blob.substr(0, blob.size() - 4));
  if (want != got) return Status::Corrupt("state blob checksum mismatch (corrupt blob)");
  if (version == 0 || version > kStateFormatVersion) {
    return Status::Unsupported("state blob format version " + std::to_string(version) +
                               " is not supported (this build reads 1.." +
                               std::to_string(kStateFormatVersion) + ")");
  }
  return StateReader(blob.substr(kHeaderBytes, length), version);
}

Status StateReader::Varint(uint64_t* out) {
  if (pos_ < data_.size() && static_cast<uint8_t>(data_[pos_]) < 0x80) {  // one byte
    *out = static_cast<uint8_t>(data_[pos_++]);
    return Status::OK();
  }
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return Status::Corrupt("state blob truncated inside a varint");
    const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return Status::OK();
    }
  }
  return Status::Corrupt("state blob has an over-long varint");
}

Status StateReader::SkipValue(uint32_t wire) {
  uint64_t n = 0;
  switch (wire) {
    case kWireVarint:
      return Varint(&n);
    case kWireFixed64:
      n = 8;
      break;
    case kWireBytes:
      VIGIL_RETURN_NOT_OK(Varint(&n));
      break;
    case kWireObject:
      if (data_.size() - pos_ < 4) return Status::Corrupt("state blob truncated in an object length");
      n = GetU32(data_.data() + pos_);
      pos_ += 4;
      break;
    default:
      return Status::Corrupt("state blob has unknown wire type " + std::to_string(wire));
  }
  if (n > data_.size() - pos_) return Status::Corrupt("state blob truncated inside a field");
  pos_ += n;
  return Status::OK();
}

Status StateReader::Seek(uint32_t id, uint32_t wire) {
  // Fast path: the next field is the one asked for (fields are read in the order
  // they are written) and its key is one byte.
  if (pos_ < data_.size()) {
    const uint8_t b = static_cast<uint8_t>(data_[pos_]);
    if (b == ((id << 3) | wire) && id < 16) {
      ++pos_;
      return Status::OK();
    }
  }
  while (pos_ < data_.size()) {
    const size_t start = pos_;
    uint64_t key = 0;
    VIGIL_RETURN_NOT_OK(Varint(&key));
    const uint64_t fid = key >> 3;
    const uint32_t fwire = static_cast<uint32_t>(key & 7);
    if (fid == id) {
      if (fwire != wire) {
        return Status::Corrupt("state field " + std::to_string(id) + " has wire type " +
                               WireName(fwire) + ", expected " + WireName(wire));
      }
      return Status::OK();
    }
    if (fid > id) {
      pos_ = start;
      break;
    }
    VIGIL_RETURN_NOT_OK(SkipValue(fwire));  // an id nobody reads (removed or newer field)
  }
  return Status::Corrupt("state field " + std::to_string(id) + " (" + WireName(wire) + ") is missing");
}

bool StateReader::Has(uint32_t id) {
  if (pos_ < data_.size()) {  // fast path: a one-byte key with this id or a larger one
    const uint8_t b = static_cast<uint8_t>(data_[pos_]);
    if (b < 0x80 && (b >> 3) >= id) return (b >> 3) == id;
  }
  size_t save = pos_;
  while (pos_ < data_.size()) {
    const size_t start = pos_;
    uint64_t key = 0;
    if (!Varint(&key).ok()) break;
    if ((key >> 3) == id) {
      pos_ = start;
      return true;
    }
    if ((key >> 3) > id) break;
    if (!SkipValue(static_cast<uint32_t>(key & 7)).ok()) break;
    save = pos_;
  }
  pos_ = save;
  return false;
}

Status StateReader::ReadUInt(uint32_t id, uint64_t* out) {
  VIGIL_RETURN_NOT_OK(Seek(id, kWireVarint));
  return Varint(out);
}

Status StateReader::ReadBool(uint32_t id, bool* out) {
  uint64_t v = 0;
  VIGIL_RETURN_NOT_OK(ReadUInt(id, &v));
  if (v > 1) return Status::Corrupt("state field " + std::to_string(id) + " is not a bool");
  *out = v == 1;
  return Status::OK();
}

Status StateReader::ReadInt(uint32_t id, int64_t* out) {
  uint64_t v = 0;
  VIGIL_RETURN_NOT_OK(ReadUInt(id, &v));
  *out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  return Status::OK();
}

Status StateReader::ReadDouble(uint32_t id, double* out) {
  VIGIL_RETURN_NOT_OK(Seek(id, kWireFixed64));
  if (data_.size() - pos_ < 8) return Status::Corrupt("state blob truncated in field " + std::to_string(id));
  std::memcpy(out, data_.data() + pos_, 8);
  pos_ += 8;
  return Status::OK();
}

Status StateReader::LengthDelimited(uint32_t id, std::string_view* out) {
  VIGIL_RETURN_NOT_OK(Seek(id, kWireBytes));
  uint64_t n = 0;
  VIGIL_RETURN_NOT_OK(Varint(&n));
  if (n > data_.size() - pos_) return Status::Corrupt("state blob truncated in field " + std::to_string(id));
  *out = data_.substr(pos_, n);
  pos_ += n;
  return Status::OK();
}

Status StateReader::ReadStringView(uint32_t id, std::string_view* out) { return LengthDelimited(id, out); }

Status StateReader::ReadString(uint32_t id, std::string* out) {
  std::string_view v;
  VIGIL_RETURN_NOT_OK(LengthDelimited(id, &v));
  out->assign(v);
  return Status::OK();
}

Status StateReader::ReadDoubles(uint32_t id, std::vector<double>* out) {
  std::string_view v;
  VIGIL_RETURN_NOT_OK(LengthDelimited(id, &v));
  if (v.size() % 8 != 0) return Status::Corrupt("state field " + std::to_string(id) + " is not packed doubles");
  out->resize(v.size() / 8);
  if (!v.empty()) std::memcpy(out->data(), v.data(), v.size());
  return Status::OK();
}

Status StateReader::ReadUInts(uint32_t id, std::vector<uint64_t>* out) {
  std::string_view v;
  VIGIL_RETURN_NOT_OK(LengthDelimited(id, &v));
  StateReader sub(v, version_);
  out->clear();
  while (!sub.AtEnd()) {
    uint64_t x = 0;
    VIGIL_RETURN_NOT_OK(sub.Varint(&x));
    out->push_back(x);
  }
  return Status::OK();
}

Status StateReader::ReadObjectPayload(uint32_t id, std::string_view* out) {
  VIGIL_RETURN_NOT_OK(Seek(id, kWireObject));
  if (data_.size() - pos_ < 4) return Status::Corrupt("state blob truncated in object " + std::to_string(id));
  const uint32_t n = GetU32(data_.data() + pos_);
  pos_ += 4;
  if (n > data_.size() - pos_) return Status::Corrupt("state blob truncated in object " + std::to_string(id));
  *out = data_.substr(pos_, n);
  pos_ += n;
  return Status::OK();
}

Result<StateReader> StateReader::ReadObject(uint32_t id) {
  std::string_view payload;
  VIGIL_RETURN_NOT_OK(ReadObjectPayload(id, &payload));
  return StateReader(payload, version_);
}

}  // namespace vigil
