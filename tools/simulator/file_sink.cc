// The file sink of --dry-run: one value per line, to a file or standard output.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sink.h"

namespace vigil::sim {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

class FileSink : public Sink {
 public:
  FileSink(std::FILE* f, std::string path, bool owned)
      : file_(f), path_(std::move(path)), owned_(owned), buffer_(kBufferBytes) {
    std::setvbuf(file_, buffer_.data(), _IOFBF, buffer_.size());
  }
  ~FileSink() override {
    if (file_ != nullptr && owned_) std::fclose(file_);
  }

  Status Send(const std::string& key, const std::string& value) override {
    if (std::fwrite(value.data(), 1, value.size(), file_) != value.size() ||
        std::fputc('\n', file_) == EOF) {
      ++counters_.failed;
      return Status::IOError("cannot write to " + path_ + ": " + std::strerror(errno));
    }
    ++counters_.delivered;
    counters_.delivered_bytes += static_cast<int64_t>(value.size());
    return Status::OK();
  }

  Status SendLabel(const std::string& key, const std::string& value) override {
    return Status::OK();
  }

  Status Close(int timeout_ms) override {
    if (file_ == nullptr) return Status::OK();
    const bool bad = std::fflush(file_) != 0 || std::ferror(file_) != 0;
    const int saved = errno;
    if (owned_ && std::fclose(file_) != 0 && !bad) {
      file_ = nullptr;
      return Status::IOError("cannot close " + path_ + ": " + std::strerror(errno));
    }
    file_ = nullptr;
    if (bad) return Status::IOError("cannot write to " + path_ + ": " + std::strerror(saved));
    return Status::OK();
  }

  SinkCounters counters() const override { return counters_; }

 private:
  std::FILE* file_;
  std::string path_;
  bool owned_;
  std::vector<char> buffer_;
  SinkCounters counters_;
};

}  // namespace

Result<std::unique_ptr<Sink>> MakeFileSink(const std::string& path) {
  if (path == "-") return std::unique_ptr<Sink>(std::make_unique<FileSink>(stdout, "<stdout>", false));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return Status::IOError("cannot open --output " + path + " for writing: " + std::strerror(errno));
  }
  return std::unique_ptr<Sink>(std::make_unique<FileSink>(f, path, true));
}

}  // namespace vigil::sim
