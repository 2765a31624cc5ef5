// Random affine transforms, elastic distortions and the worker threads that apply them
// (augment.hpp has the maps and the conventions).
#include "backprop/data/augment.hpp"

#include <algorithm>
#include <cmath>

#include "backprop/error.hpp"
#include "backprop/message_text.hpp"

namespace backprop {

bool AugmentConfig::enabled() const {
  return shift != 0 || rotate != 0 || scale != 0 || shear != 0 || elastic_alpha != 0;
}

void AugmentConfig::validate() const {
  const auto check = [](double value, const char* flag, double below) {
    if (!std::isfinite(value) || value < 0 || value >= below)
      throw Error(std::string(flag) + " must be in [0, " + number_text(below) + "), not " + number_text(value));
  };
  const double unlimited = 1e9;
  check(shift, "--augment-shift", unlimited);
  check(rotate, "--augment-rotate", 180);
  check(scale, "--augment-scale", 1);  // sx, sy stay positive
  check(shear, "--augment-shear", unlimited);
  check(elastic_alpha, "--elastic-alpha", unlimited);
  if (!std::isfinite(elastic_sigma) || elastic_sigma <= 0 || elastic_sigma > 100)
    throw Error("--elastic-sigma must be in (0, 100], not " + number_text(elastic_sigma));
  if (rows <= 0 || cols <= 0) throw Error("augmentation: images must have positive rows and columns");
}

// ---- Random numbers --------------------------------------------------------------------------

namespace {
// splitmix64's output function of a state (Steele, Lea and Flood 2014).
std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

AugmentRng::AugmentRng(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index)
    : state_(mix64(mix64(mix64(seed) ^ epoch) ^ index)) {}

std::uint64_t AugmentRng::next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double AugmentRng::uniform(double lo, double hi) {
  const double u = double(next() >> 11) * 0x1.0p-53;  // [0, 1), 53 bits
  return lo + (hi - lo) * u;
}

// ---- One image -------------------------------------------------------------------------------

std::vector<float> gaussian_kernel(double sigma) {
  const int radius = static_cast<int>(std::ceil(4 * sigma));
  std::vector<double> g;
  double norm = 0;
  for (int m = -radius; m <= radius; ++m) {
    g.push_back(std::exp(-double(m) * m / (2 * sigma * sigma)));
    norm += g.back();
  }
  std::vector<float> w;
  for (double value : g) w.push_back(static_cast<float>(value / norm));
  return w;
}

Augmenter::Augmenter(const AugmentConfig& config) : config_(config) {
  config_.validate();
  kernel_ = gaussian_kernel(config_.elastic_sigma);
  const std::size_t radius = kernel_.size() / 2, rows = std::size_t(config_.rows), cols = std::size_t(config_.cols);
  noise_.assign((rows + 2 * radius) * cols, 0.0f);
  half_.assign(rows * (cols + 2 * radius), 0.0f);
  along_columns_.resize(rows * cols);
  padded_.assign((rows + 2) * (cols + 2), 0.0f);
}

namespace {
// out[i] = sum_k w[k] in[i + k * stride] for i < n: one long contiguous multiply-add loop per
// weight, which vectorises whatever the image size. Plain loops on purpose: the workers must
// not call Eigen's matrix product, which goes to OpenBLAS in the default build, and OpenBLAS's
// OpenMP build risks corrupting data when called from several threads at once (NUM_PARALLEL).
void shifted_sum(const std::vector<float>& w, const float* __restrict in, std::size_t stride, std::size_t n,
                 float* __restrict out) {
  std::fill(out, out + n, 0.0f);
  for (std::size_t k = 0; k < w.size(); ++k) {
    const float weight = w[k];
    const float* source = in + k * stride;
    for (std::size_t i = 0; i < n; ++i) out[i] += weight * source[i];
  }
}
}  // namespace

void Augmenter::draw_field(AugmentRng& rng) {
  // Each field: U drawn row by row (like the image) into noise_ between its zero margins;
  // smoothed along columns (row-major: neighbours in a column are `cols` apart); transposed into
  // half_ between its zero margins; smoothed along rows (column-major: neighbours in a row are
  // `rows` apart), which leaves the field column-major, as Eigen holds it.
  const std::size_t rows = std::size_t(config_.rows), cols = std::size_t(config_.cols), radius = kernel_.size() / 2;
  for (Eigen::MatrixXf* field : {&dx_, &dy_}) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) noise_[(r + radius) * cols + c] = static_cast<float>(rng.uniform(-1, 1));
    shifted_sum(kernel_, noise_.data(), cols, rows * cols, along_columns_.data());
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) half_[(c + radius) * rows + r] = along_columns_[r * cols + c];
    field->resize(config_.rows, config_.cols);
    shifted_sum(kernel_, half_.data(), rows, rows * cols, field->data());
  }
}

void Augmenter::elastic_field(std::uint64_t epoch, std::uint64_t index, Eigen::MatrixXf& dx, Eigen::MatrixXf& dy) {
  AugmentRng rng(config_.seed, epoch, index);
  for (int i = 0; i < 6; ++i) rng.next();  // the affine parameters come first (apply)
  draw_field(rng);
  dx = dx_;
  dy = dy_;
}

void Augmenter::apply(const std::uint8_t* in, std::uint8_t* out, std::uint64_t epoch, std::uint64_t index) {
  const AugmentConfig& c = config_;
  AugmentRng rng(c.seed, epoch, index);
  // Six draws always, in this order, so that turning one transform on changes no other's values.
  const double theta = c.rotate * M_PI / 180 * rng.uniform(-1, 1);
  const double sx = 1 + c.scale * rng.uniform(-1, 1);
  const double sy = 1 + c.scale * rng.uniform(-1, 1);
  const double k = c.shear * rng.uniform(-1, 1);
  const double tx = c.shift * rng.uniform(-1, 1);
  const double ty = c.shift * rng.uniform(-1, 1);
  const bool elastic = c.elastic_alpha > 0;
  if (elastic) draw_field(rng);

  // L = R(theta) H(k) D(sx, sy); q = L^-1 (p - c - t) + c + alpha d(p).
  const double cs = std::cos(theta), sn = std::sin(theta);
  const double l00 = cs * sx, l01 = (cs * k + sn) * sy;  // R H D, rows growing downwards:
  const double l10 = -sn * sx, l11 = (-sn * k + cs) * sy;  // R = [cos sin; -sin cos]
  const double det = l00 * l11 - l01 * l10;
  const double i00 = l11 / det, i01 = -l01 / det, i10 = -l10 / det, i11 = l00 / det;
  const double cx = (c.cols - 1) / 2.0, cy = (c.rows - 1) / 2.0;
  // The image with a one-pixel black border, so the four neighbours of any q with
  // -1 <= q < size are in the buffer; q further out samples black.
  const int stride = c.cols + 2;
  for (int y = 0; y < c.rows; ++y)
    for (int x = 0; x < c.cols; ++x) padded_[(y + 1) * stride + x + 1] = in[y * c.cols + x];
  // In float from here (exact for the identity: integers and halves).
  const float m00 = float(i00), m01 = float(i01), m10 = float(i10), m11 = float(i11);
  const float ox = float(cx - (i00 * (cx + tx) + i01 * (cy + ty))), oy = float(cy - (i10 * (cx + tx) + i11 * (cy + ty)));
  const float alpha = float(c.elastic_alpha);
  for (int y = 0; y < c.rows; ++y) {
    for (int x = 0; x < c.cols; ++x) {
      float qx = m00 * float(x) + m01 * float(y) + ox, qy = m10 * float(x) + m11 * float(y) + oy;
      if (elastic) {
        qx += alpha * dx_(y, x);
        qy += alpha * dy_(y, x);
      }
      // Bilinear: the four pixels around q, weighted by the opposite areas.
      const float fx0 = std::floor(qx), fy0 = std::floor(qy);
      float value = 0;
      if (fx0 >= -1 && fx0 < float(c.cols) && fy0 >= -1 && fy0 < float(c.rows)) {
        const float ax = qx - fx0, ay = qy - fy0;
        const float* p = padded_.data() + (static_cast<int>(fy0) + 1) * stride + static_cast<int>(fx0) + 1;
        value = (1 - ay) * ((1 - ax) * p[0] + ax * p[1]) + ay * ((1 - ax) * p[stride] + ax * p[stride + 1]);
      }
      // value is in [0, 255] (a convex mix of bytes); + 0.5 and truncation round it.
      out[y * c.cols + x] = static_cast<std::uint8_t>(std::min(value + 0.5f, 255.0f));
    }
  }
}

// ---- Worker threads --------------------------------------------------------------------------
// Batch b of the epoch lives in slot b % depth. A worker may claim batch b once the batch that
// slot held before (b - depth) is no longer needed: b < lowest + depth, where lowest is the
// batch the consumer holds (or waits for). next_batch releases the batch it returned last.

AugmentedBatches::AugmentedBatches(const AugmentConfig& config, int workers, int depth) : config_(config) {
  config_.validate();
  if (workers < 1) throw Error("--augment-threads must be at least 1");
  if (depth < 2) depth = workers + 2;
  slots_.resize(static_cast<std::size_t>(depth));
  for (int w = 0; w < workers; ++w) threads_.emplace_back(&AugmentedBatches::work, this, w);
}

AugmentedBatches::~AugmentedBatches() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void AugmentedBatches::start_epoch(const Dataset& data, int epoch, const std::vector<std::size_t>& order,
                                   std::size_t position, std::size_t batch_size) {
  if (!data.is_bytes()) throw Error("augmentation: the features are not image bytes (IDX or uint8 data)");
  if (data.features != std::size_t(config_.rows) * std::size_t(config_.cols))
    throw Error("augmentation: images of " + std::to_string(data.features) + " pixels, expected " +
                std::to_string(config_.rows) + "x" + std::to_string(config_.cols));
  if (batch_size == 0) throw Error("augmentation: batch size must be positive");
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return in_flight_ == 0; });  // nobody reads the old epoch any more
  data_ = &data;
  epoch_ = epoch;
  order_ = order;
  first_ = std::min(position, order.size());
  batch_size_ = batch_size;
  batches_ = static_cast<long long>((order_.size() - first_ + batch_size - 1) / batch_size);
  next_claim_ = next_serve_ = prepared_ = 0;
  held_ = -1;
  for (auto& slot : slots_) slot.batch = -1, slot.ready = false;
  failure_ = nullptr;
  lock.unlock();
  changed_.notify_all();
}

const Dataset& AugmentedBatches::next_batch() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_serve_ >= batches_) throw Error("augmentation: no batch left in the epoch");
  held_ = -1;  // the caller is done with the last batch: its slot may be refilled
  changed_.notify_all();
  const long long b = next_serve_;
  Slot& slot = slots_[static_cast<std::size_t>(b % static_cast<long long>(slots_.size()))];
  changed_.wait(lock, [&] { return failure_ || (slot.batch == b && slot.ready); });
  if (failure_) std::rethrow_exception(failure_);
  held_ = b;
  ++next_serve_;
  return slot.data;
}

long long AugmentedBatches::prepared() {
  std::lock_guard<std::mutex> lock(mutex_);
  return prepared_;
}

void AugmentedBatches::work(int /*worker*/) {
  Augmenter augmenter(config_);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    const auto claimable = [&] {
      const long long lowest = held_ >= 0 ? held_ : next_serve_;
      return next_claim_ < batches_ && next_claim_ < lowest + static_cast<long long>(slots_.size());
    };
    changed_.wait(lock, [&] { return stopping_ || claimable(); });
    if (stopping_) return;
    const long long b = next_claim_++;
    Slot& slot = slots_[static_cast<std::size_t>(b % static_cast<long long>(slots_.size()))];
    slot.batch = b;
    slot.ready = false;
    ++in_flight_;
    lock.unlock();
    std::exception_ptr failure;
    try {
      fill(augmenter, slot, b);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    --in_flight_;
    ++prepared_;
    slot.ready = true;
    if (failure) failure_ = failure;
    changed_.notify_all();
  }
}

// Runs without the lock: start_epoch waits for in_flight_ == 0 before it changes what is read.
void AugmentedBatches::fill(Augmenter& augmenter, Slot& slot, long long batch) {
  const std::size_t start = first_ + static_cast<std::size_t>(batch) * batch_size_;
  const std::size_t n = std::min(batch_size_, order_.size() - start);
  const std::size_t features = data_->features;
  Dataset& out = slot.data;
  out.count = n;
  out.features = features;
  out.rows = data_->rows;
  out.cols = data_->cols;
  out.scaling = data_->scaling;
  out.bytes.resize(n * features);
  out.labels.resize(n);
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t index = order_[start + j];
    augmenter.apply(data_->row_bytes(index), out.bytes.data() + j * features, static_cast<std::uint64_t>(epoch_), index);
    out.labels[j] = data_->labels[index];
  }
}

}  // namespace backprop
