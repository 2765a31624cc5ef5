// Data augmentation: random affine transforms and elastic distortions of the training images
// (Simard, Steinkraus and Platt 2003), drawn afresh for every image in every epoch, and a
// producer that prepares the augmented batches in worker threads while the training step runs.
//
// Bytes in, bytes out. An augmented image is resampled from the original's uint8 pixels and
// rounded back to uint8, so the batch the trainer sees is a small Dataset like any other and
// the rest of the pipeline (gather_batch's p / 255, the step) is unchanged. Rounding costs at
// most 0.5 / 255 per pixel, the quantisation MNIST itself has.
//
// One image, one map from output pixel p = (x, y) (x the column, y the row) to the source
// point q it is sampled at (bilinear, zero outside the image):
//
//   q = L^-1 (p - c - t) + c + alpha * d(p)
//
//   c      the image centre ((cols - 1) / 2, (rows - 1) / 2)
//   L      the forward affine map R(theta) H(k) diag(sx, sy): scale, then shear x += k y, then
//          rotate by theta (counter-clockwise as displayed, rows growing downwards)
//   t      the shift (tx, ty) in pixels
//   d(p)   the elastic field: two fields (dx, dy) of independent U[-1, 1] values, one per
//          pixel, each convolved with a Gaussian of std sigma (truncated at 4 sigma, zero
//          outside the image, as scipy.ndimage.gaussian_filter(mode="constant"))
//
// The parameters of image i in epoch e come from a generator keyed by (seed, e, i) alone, so
// the result never depends on which worker thread made it, on the batch it falls in or on the
// order of the epoch; an interrupted run resumes to the same images.
//
// What this file does not do: anything to evaluation data (only training batches are
// augmented), colour or noise augmentations, or choosing the strengths (docs/augmentation.md).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <Eigen/Core>

#include "backprop/data/dataset.hpp"
#include "backprop/train/trainer.hpp"

namespace backprop {

// Strengths of the random transforms; each is drawn uniformly per image, zero turns it off.
struct AugmentConfig {
  double shift = 0;          // pixels: tx, ty in [-shift, shift], independently
  double rotate = 0;         // degrees: theta in [-rotate, rotate]
  double scale = 0;          // sx, sy in [1 - scale, 1 + scale], independently; < 1
  double shear = 0;          // k in [-shear, shear]
  double elastic_alpha = 0;  // pixels per unit of the smoothed field; 0 = no elastic distortion
  double elastic_sigma = 4;  // pixels: std of the Gaussian that smooths the field
  std::uint64_t seed = 0;
  int rows = 28, cols = 28;

  bool enabled() const;   // any strength non-zero
  void validate() const;  // throws Error naming the flag (--augment-scale, --elastic-sigma, ...)
};

// The generator of one image's random numbers: splitmix64 over a state derived from (seed,
// epoch, index) by the same mixing, so neighbouring keys give unrelated streams. Its own
// uniform conversion (53 bits), so the numbers are the same with every standard library.
class AugmentRng {
 public:
  AugmentRng(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index);
  std::uint64_t next();
  double uniform(double lo, double hi);  // in [lo, hi)

 private:
  std::uint64_t state_;
};

// The smoothing's 1-D weights: w[R + m] = g(m) / sum_m g(m), m = -R..R, R = ceil(4 sigma),
// g(m) = exp(-m^2 / (2 sigma^2)). A field U is smoothed along its columns, then its rows:
// S(r, c) = sum_{m, n} w[R + m] w[R + n] U(r + m, c + n), U zero outside the image.
std::vector<float> gaussian_kernel(double sigma);

// Transforms one image at a time; holds the smoothing weights and the scratch buffers, so one
// per thread.
class Augmenter {
 public:
  explicit Augmenter(const AugmentConfig& config);

  // out = the augmented in (rows * cols bytes each, row-major), for image `index` of `epoch`.
  void apply(const std::uint8_t* in, std::uint8_t* out, std::uint64_t epoch, std::uint64_t index);

  // The elastic field of image `index` of `epoch`, before alpha: (rows, cols) each. Exposed
  // for the tests (the convolution, its smoothness).
  void elastic_field(std::uint64_t epoch, std::uint64_t index, Eigen::MatrixXf& dx, Eigen::MatrixXf& dy);

  const AugmentConfig& config() const { return config_; }

 private:
  // Fills dx, dy (rows, cols) with the smoothed U[-1, 1] fields, drawing from rng.
  void draw_field(AugmentRng& rng);

  AugmentConfig config_;
  std::vector<float> kernel_;       // 2R + 1 weights (gaussian_kernel)
  std::vector<float> noise_;        // (rows + 2R) x cols, row-major: U with R zero rows above and below
  std::vector<float> along_columns_;  // rows x cols, row-major: U smoothed along columns
  std::vector<float> half_;         // rows x (cols + 2R), column-major: the same, transposed, with
                                    // R zero columns left and right
  Eigen::MatrixXf dx_, dy_;         // (rows, cols): the smoothed fields
  std::vector<float> padded_;       // (rows + 2) x (cols + 2), row-major: the image, black border
};

// The trainer's BatchSource for augmented training: worker threads fill a ring of `depth`
// batch buffers ahead of the batch the step is using (depth 2 = double buffering; below 2, the
// default, workers + 2), each worker taking the next batch not yet claimed. next_batch blocks
// only when the workers are behind.
class AugmentedBatches final : public BatchSource {
 public:
  AugmentedBatches(const AugmentConfig& config, int workers = 1, int depth = 0);
  ~AugmentedBatches() override;  // stops and joins the workers
  AugmentedBatches(const AugmentedBatches&) = delete;
  AugmentedBatches& operator=(const AugmentedBatches&) = delete;

  void start_epoch(const Dataset& data, int epoch, const std::vector<std::size_t>& order,
                   std::size_t position, std::size_t batch_size) override;
  const Dataset& next_batch() override;

  int workers() const { return static_cast<int>(threads_.size()); }
  // Batches of the current epoch finished so far (for the tests: does loading go on while the
  // caller holds a batch?).
  long long prepared();

 private:
  struct Slot {
    long long batch = -1;  // which batch of the epoch it holds (or is being filled with)
    bool ready = false;
    Dataset data;
  };
  void work(int worker);
  void fill(Augmenter& augmenter, Slot& slot, long long batch);

  AugmentConfig config_;
  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  // The current epoch (guarded by mutex_; read without it by a worker between claim and done,
  // which start_epoch waits out).
  const Dataset* data_ = nullptr;
  int epoch_ = 0;
  std::vector<std::size_t> order_;
  std::size_t first_ = 0, batch_size_ = 1;
  long long batches_ = 0;      // in the rest of the epoch
  long long next_claim_ = 0;   // the next batch a worker will take
  long long next_serve_ = 0;   // the next batch next_batch returns
  long long held_ = -1;        // the batch the caller holds (returned last), -1 = none
  int in_flight_ = 0;          // batches being filled right now
  long long prepared_ = 0;     // batches of this epoch finished
  bool stopping_ = false;
  std::exception_ptr failure_;
};

}  // namespace backprop
