// Augmentation (augment.hpp): transforms keep images in shape and in range, zero strength is
// the identity, each transform does what its name says, the same seed gives the same batches
// whatever the threads, the elastic field is as smooth as sigma asks, the workers keep loading
// while the caller holds a batch, and training with augmentation resumes exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <tuple>
#include <thread>

#include "backprop/data/augment.hpp"
#include "backprop/io/checkpoint.hpp"
#include "backprop/error.hpp"
#include "backprop/data/fetch.hpp"
#include "backprop/nn/init.hpp"
#include "backprop/train/trainer.hpp"
#include "cli_process.hpp"
#include "temp_dir.hpp"

using namespace backprop;

namespace {

// A 28x28 "digit": a bright ring and a stroke, on black, plus a few grey pixels.
std::vector<std::uint8_t> digit_like() {
  std::vector<std::uint8_t> image(784, 0);
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      const double r = std::hypot(x - 13.5, y - 10.0);
      if (r > 4 && r < 7) image[y * 28 + x] = 255;
      if (x == 17 && y > 10 && y < 24) image[y * 28 + x] = 200;
      if ((x * 7 + y * 3) % 29 == 0 && y > 3 && y < 25) image[y * 28 + x] = static_cast<std::uint8_t>(60 + x);
    }
  return image;
}

// `count` random-ish 28x28 images (dense noise, so every pixel matters) with labels.
Dataset noise_images(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  Dataset d;
  d.count = count;
  d.features = 784;
  for (std::size_t i = 0; i < count * 784; ++i) d.bytes.push_back(static_cast<std::uint8_t>(rng()));
  for (std::size_t i = 0; i < count; ++i) d.labels.push_back(static_cast<std::uint8_t>(rng() % 10));
  return d;
}

AugmentConfig strong() {
  AugmentConfig c;
  c.shift = 3;
  c.rotate = 20;
  c.scale = 0.2;
  c.shear = 0.3;
  c.elastic_alpha = 36;
  c.elastic_sigma = 5;
  c.seed = 11;
  return c;
}

std::vector<std::uint8_t> augment(const AugmentConfig& c, const std::vector<std::uint8_t>& in, int epoch = 0,
                                  int index = 0) {
  Augmenter augmenter(c);
  std::vector<std::uint8_t> out(in.size(), 77);
  augmenter.apply(in.data(), out.data(), epoch, index);
  return out;
}

long sum(const std::vector<std::uint8_t>& image) { return std::accumulate(image.begin(), image.end(), 0L); }

// Centre of mass (x, y) of an image's ink.
std::pair<double, double> centre(const std::vector<std::uint8_t>& image) {
  double mx = 0, my = 0, m = 0;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      mx += x * image[y * 28 + x];
      my += y * image[y * 28 + x];
      m += image[y * 28 + x];
    }
  return {mx / m, my / m};
}

}  // namespace

TEST(Augment, ZeroStrengthIsTheIdentity) {
  const Dataset images = noise_images(20, 3);
  AugmentConfig zero;
  zero.seed = 5;
  zero.elastic_sigma = 6;  // sigma alone changes nothing while alpha is 0
  EXPECT_FALSE(zero.enabled());
  Augmenter augmenter(zero);
  std::vector<std::uint8_t> out(784);
  for (std::size_t i = 0; i < images.count; ++i)
    for (int epoch : {0, 1, 17}) {
      augmenter.apply(images.row_bytes(i), out.data(), epoch, i);
      ASSERT_TRUE(std::equal(out.begin(), out.end(), images.row_bytes(i))) << "image " << i << ", epoch " << epoch;
    }
}

TEST(Augment, KeepsTheImageInShapeAndInRange) {
  // Bilinear resampling never leaves the range of the pixels it mixes (plus the black outside),
  // so a uniformly grey image stays at or below its grey, and nothing is written past 784 bytes.
  std::vector<std::uint8_t> grey(784, 180);
  grey.resize(784 + 16, 9);  // a guard after the image
  Augmenter augmenter(strong());
  for (int i = 0; i < 50; ++i) {
    std::vector<std::uint8_t> out(784 + 16, 9);
    augmenter.apply(grey.data(), out.data(), 0, i);
    for (int p = 0; p < 784; ++p) ASSERT_LE(out[p], 180) << "image " << i << ", pixel " << p;
    for (int p = 784; p < 800; ++p) ASSERT_EQ(out[p], 9) << "wrote past the image";
    ASSERT_EQ(out[14 * 28 + 14], 180) << "the centre of a grey image stays grey";
  }
  // A digit keeps most of its ink and stays near the middle.
  const auto digit = digit_like();
  for (int i = 0; i < 50; ++i) {
    const auto out = augment(strong(), digit, 1, i);
    const double ratio = double(sum(out)) / double(sum(digit));
    EXPECT_GT(ratio, 0.6) << "image " << i;
    EXPECT_LT(ratio, 1.6) << "image " << i;
    const auto [x, y] = centre(out);
    EXPECT_NEAR(x, 13.5, 6) << "image " << i;
    EXPECT_NEAR(y, 11.5, 6) << "image " << i;
  }
}

TEST(Augment, EachTransformDoesWhatItSays) {
  const auto digit = digit_like();
  const auto [x0, y0] = centre(digit);
  // Shift: the ink moves by at most the shift, and does move.
  AugmentConfig shift;
  shift.shift = 3;
  double moved = 0;
  for (int i = 0; i < 20; ++i) {
    const auto [x, y] = centre(augment(shift, digit, 0, i));
    EXPECT_LE(std::abs(x - x0), 3.2);
    EXPECT_LE(std::abs(y - y0), 3.2);
    moved = std::max(moved, std::abs(x - x0) + std::abs(y - y0));
  }
  EXPECT_GT(moved, 1.0);
  // Rotation about the centre: a smooth round blob centred on the image stays the same, to
  // the error of bilinear interpolation; a sharp-edged disc keeps its ink.
  std::vector<std::uint8_t> blob(784, 0), disc(784, 0);
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      const double r = std::hypot(x - 13.5, y - 13.5);
      blob[y * 28 + x] = static_cast<std::uint8_t>(std::lround(250 * std::exp(-r * r / 50)));
      if (r < 8) disc[y * 28 + x] = 250;
    }
  AugmentConfig rotate;
  rotate.rotate = 45;
  for (int i = 0; i < 10; ++i) {
    const auto out = augment(rotate, blob, 0, i);
    for (int p = 0; p < 784; ++p) ASSERT_LE(std::abs(int(out[p]) - int(blob[p])), 8) << "image " << i << ", pixel " << p;
    EXPECT_NEAR(double(sum(augment(rotate, disc, 0, i))) / double(sum(disc)), 1.0, 0.03);
  }
  // Scaling up spreads the ink, scaling down shrinks it (each axis independently).
  AugmentConfig scale;
  scale.scale = 0.3;
  bool grew = false, shrank = false;
  for (int i = 0; i < 20; ++i) {
    const double ratio = double(sum(augment(scale, disc, 0, i))) / double(sum(disc));
    EXPECT_GT(ratio, 0.7 * 0.7 - 0.05);
    EXPECT_LT(ratio, 1.3 * 1.3 + 0.05);
    grew = grew || ratio > 1.1;
    shrank = shrank || ratio < 0.9;
  }
  EXPECT_TRUE(grew && shrank);
}

TEST(Augment, RotationIsCounterClockwiseAsDisplayed) {
  // One bright pixel right of the centre; +90 degrees (exactly: rotate = 90, the draw lands
  // near +-90) moves it above or below the centre, and the sign of the draw says which.
  AugmentConfig c;
  c.rotate = 90;
  std::vector<std::uint8_t> dot(784, 0);
  dot[13 * 28 + 23] = 255;
  dot[14 * 28 + 23] = 255;  // (x 23, y 13.5): 9.5 px right of the centre
  Augmenter augmenter(c);
  int up = 0, down = 0;
  for (int i = 0; i < 40; ++i) {
    AugmentRng rng(c.seed, 0, i);
    const double theta = 90 * rng.uniform(-1, 1);
    std::vector<std::uint8_t> out(784);
    augmenter.apply(dot.data(), out.data(), 0, i);
    const auto [x, y] = centre(out);
    const double expected_y = 13.5 - 9.5 * std::sin(theta * M_PI / 180);  // rows grow downwards
    const double expected_x = 13.5 + 9.5 * std::cos(theta * M_PI / 180);
    EXPECT_NEAR(y, expected_y, 1.0) << "theta " << theta;
    EXPECT_NEAR(x, expected_x, 1.0) << "theta " << theta;
    (theta > 0 ? up : down)++;
  }
  EXPECT_GT(up, 0);
  EXPECT_GT(down, 0);
}

TEST(Augment, SameSeedEpochAndIndexSameImageWhateverElse) {
  const auto digit = digit_like();
  const auto a = augment(strong(), digit, 3, 41);
  EXPECT_EQ(a, augment(strong(), digit, 3, 41));
  EXPECT_NE(a, augment(strong(), digit, 4, 41)) << "a new epoch, a new distortion";
  EXPECT_NE(a, augment(strong(), digit, 3, 42)) << "another image, another distortion";
  AugmentConfig other = strong();
  other.seed = 12;
  EXPECT_NE(a, augment(other, digit, 3, 41)) << "another seed, another distortion";
  // The generator's numbers are fixed by the key, not by the library: pin a few.
  AugmentRng rng(0, 0, 0);
  const std::uint64_t first = rng.next();
  AugmentRng again(0, 0, 0);
  EXPECT_EQ(first, again.next());
  for (int i = 0; i < 1000; ++i) {
    const double u = rng.uniform(-1, 1);
    ASSERT_GE(u, -1.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(Augment, SameSeedSameBatchesWhateverTheThreads) {
  const Dataset data = noise_images(100, 4);
  std::vector<std::size_t> order(data.count);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(2));
  const auto epoch_bytes = [&](int workers, int depth, std::size_t batch, int epoch) {
    AugmentedBatches batches(strong(), workers, depth);
    batches.start_epoch(data, epoch, order, 0, batch);
    std::vector<std::uint8_t> bytes, labels;
    for (std::size_t done = 0; done < data.count; done += batch) {
      const Dataset& b = batches.next_batch();
      EXPECT_EQ(b.count, std::min(batch, data.count - done));
      EXPECT_EQ(b.features, 784u);
      bytes.insert(bytes.end(), b.bytes.begin(), b.bytes.end());
      labels.insert(labels.end(), b.labels.begin(), b.labels.end());
    }
    for (std::size_t j = 0; j < data.count; ++j) EXPECT_EQ(labels[j], data.labels[order[j]]);
    return bytes;
  };
  const auto reference = epoch_bytes(1, 2, 16, 5);
  EXPECT_EQ(reference, epoch_bytes(3, 5, 16, 5));
  EXPECT_EQ(reference, epoch_bytes(2, 2, 7, 5)) << "batches of another size, the same images";
  EXPECT_NE(reference, epoch_bytes(1, 2, 16, 6));
  // Image by image, the batch holds Augmenter::apply's result for (epoch, dataset index).
  Augmenter augmenter(strong());
  std::vector<std::uint8_t> out(784);
  augmenter.apply(data.row_bytes(order[37]), out.data(), 5, order[37]);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), reference.begin() + 37 * 784));
}

TEST(Augment, StartingMidEpochGivesTheRestOfTheSameEpoch) {
  const Dataset data = noise_images(50, 5);
  std::vector<std::size_t> order(data.count);
  std::iota(order.begin(), order.end(), 0);
  AugmentedBatches batches(strong(), 2);
  batches.start_epoch(data, 0, order, 0, 10);
  std::vector<std::vector<std::uint8_t>> all;
  for (int b = 0; b < 5; ++b) all.push_back(batches.next_batch().bytes);
  EXPECT_THROW(batches.next_batch(), Error);
  batches.start_epoch(data, 0, order, 30, 10);  // a restore at position 30
  EXPECT_EQ(batches.next_batch().bytes, all[3]);
  batches.start_epoch(data, 0, order, 10, 10);  // and again, after taking only part of it
  EXPECT_EQ(batches.next_batch().bytes, all[1]);
}

TEST(Augment, ElasticFieldIsTheTruncatedGaussianConvolutionOfItsNoise) {
  // The two 1-D passes against the direct double sum S(i, j) = sum_{k, l} g(i - k) g(j - l) U(k, l)
  // over |i - k|, |j - l| <= ceil(4 sigma), zero outside the field, g normalised to sum 1: the
  // scipy.ndimage.gaussian_filter(U, sigma, mode="constant") of Simard's recipe. U is redrawn
  // here from the image's generator (six affine draws, then dx's U row by row, then dy's).
  for (const auto& [rows, cols, sigma] : {std::tuple{28, 28, 3.0}, std::tuple{20, 33, 1.5}, std::tuple{28, 28, 8.0}}) {
    AugmentConfig c;
    c.elastic_alpha = 1;
    c.elastic_sigma = sigma;
    c.rows = rows;
    c.cols = cols;
    c.seed = 4;
    Augmenter augmenter(c);
    Eigen::MatrixXf dx, dy;
    augmenter.elastic_field(2, 9, dx, dy);
    ASSERT_EQ(dx.rows(), rows);
    ASSERT_EQ(dx.cols(), cols);
    AugmentRng rng(4, 2, 9);
    for (int i = 0; i < 6; ++i) rng.next();
    const int radius = static_cast<int>(std::ceil(4 * sigma));
    double norm = 0;
    for (int m = -radius; m <= radius; ++m) norm += std::exp(-m * m / (2 * sigma * sigma));
    // The lambda captures a copy: C++17 lambdas cannot capture structured bindings (clang says so).
    const auto g = [&, s = sigma](int m) { return std::abs(m) > radius ? 0.0 : std::exp(-m * m / (2 * s * s)) / norm; };
    for (const Eigen::MatrixXf* field : {&dx, &dy}) {
      Eigen::MatrixXd U(rows, cols);
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) U(i, j) = static_cast<float>(rng.uniform(-1, 1));
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) {
          double direct = 0;
          for (int k = 0; k < rows; ++k)
            for (int l = 0; l < cols; ++l) direct += g(i - k) * g(j - l) * U(k, l);
          ASSERT_NEAR((*field)(i, j), direct, 1e-5) << rows << "x" << cols << " sigma " << sigma << " at " << i << "," << j;
        }
    }
  }
  EXPECT_EQ(gaussian_kernel(1.5).size(), 13u);  // R = ceil(6) = 6
}

TEST(Augment, ElasticFieldHasTheRequestedSmoothness) {
  // White noise smoothed by a Gaussian of std sigma has the autocorrelation
  // exp(-d^2 / (4 sigma^2)) at lag d. Measured away from the edges (a 96x96 field, lags along
  // both axes, both components, 40 fields), it must match to a few hundredths, and a larger
  // sigma must give a smoother field.
  for (double sigma : {1.5, 3.0}) {
    AugmentConfig c;
    c.elastic_alpha = 1;
    c.elastic_sigma = sigma;
    c.rows = c.cols = 96;
    Augmenter augmenter(c);
    const int lo = 20, hi = 76;
    for (int d : {1, 2, 4}) {
      double product = 0, square = 0;
      for (int f = 0; f < 40; ++f) {
        Eigen::MatrixXf dx, dy;
        augmenter.elastic_field(0, f, dx, dy);
        for (const Eigen::MatrixXf* field : {&dx, &dy})
          for (int i = lo; i < hi; ++i)
            for (int j = lo; j < hi; ++j) {
              const double v = (*field)(i, j);
              product += v * ((*field)(i + d, j) + (*field)(i, j + d)) / 2;
              square += v * v;
            }
      }
      const double measured = product / square;
      const double expected = std::exp(-d * d / (4 * sigma * sigma));
      EXPECT_NEAR(measured, expected, 0.04) << "sigma " << sigma << ", lag " << d;
    }
  }
  // On the 28x28 images: the mean neighbour difference falls as sigma grows.
  double previous = 1e9;
  for (double sigma : {1.0, 2.0, 4.0, 8.0}) {
    AugmentConfig c;
    c.elastic_alpha = 1;
    c.elastic_sigma = sigma;
    Augmenter augmenter(c);
    Eigen::MatrixXf dx, dy;
    double roughness = 0, size = 0;
    for (int f = 0; f < 20; ++f) {
      augmenter.elastic_field(1, f, dx, dy);
      roughness += (dx.topRows(27) - dx.bottomRows(27)).cwiseAbs().mean();
      size += dx.cwiseAbs().mean();
    }
    const double relative = roughness / size;
    EXPECT_LT(relative, previous) << "sigma " << sigma;
    previous = relative;
  }
}

TEST(Augment, ElasticAlphaScalesTheDisplacement) {
  // The same field (same key) at twice alpha moves a dot about twice as far.
  std::vector<std::uint8_t> blob(784, 0);
  for (int y = 12; y < 16; ++y)
    for (int x = 12; x < 16; ++x) blob[y * 28 + x] = 255;
  const auto [x0, y0] = centre(blob);
  double moved[2] = {0, 0};
  for (int a = 0; a < 2; ++a) {
    AugmentConfig c;
    c.elastic_alpha = a == 0 ? 4 : 8;
    c.elastic_sigma = 6;
    for (int i = 0; i < 30; ++i) {
      const auto [x, y] = centre(augment(c, blob, 0, i));
      moved[a] += std::hypot(x - x0, y - y0);
    }
  }
  EXPECT_GT(moved[0], 0.5);
  EXPECT_NEAR(moved[1] / moved[0], 2.0, 0.4);
}

TEST(Augment, LoadingContinuesWhileTheCallerHoldsABatch) {
  // A slow fake consumer: it takes batch 0 and then "trains" (sleeps). Meanwhile the worker
  // must prepare the next depth - 1 batches, and no more (their slots are full).
  const Dataset data = noise_images(400, 6);
  std::vector<std::size_t> order(data.count);
  std::iota(order.begin(), order.end(), 0);
  const int depth = 4;
  AugmentedBatches batches(strong(), 1, depth);
  batches.start_epoch(data, 0, order, 0, 20);  // 20 batches
  batches.next_batch();  // batch 0, held
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (batches.prepared() < depth && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(batches.prepared(), depth) << "batches 1..3 are made while batch 0 is in use";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(batches.prepared(), depth) << "and not batch 4: its slot still holds batch 0";
  // The consumer goes on: while it holds batch b - 1, the worker fills every free slot, up to
  // depth batches ahead and never further. Waited for, not timed: a loaded machine only slows it.
  for (int b = 1; b < 20; ++b) {
    const long long want = std::min<long long>(b - 1 + depth, 20);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (batches.prepared() < want && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_EQ(batches.prepared(), want) << "holding batch " << b - 1;
    batches.next_batch();
  }
}

TEST(Augment, RefusesBadStrengthsAndSizes) {
  AugmentConfig c;
  c.scale = 1;
  EXPECT_THROW(c.validate(), Error);
  c.scale = 0;
  c.rotate = -1;
  EXPECT_THROW(c.validate(), Error);
  c.rotate = 0;
  c.elastic_sigma = 0;
  EXPECT_THROW(c.validate(), Error);
  c.elastic_sigma = 4;
  EXPECT_THROW(AugmentedBatches(c, 0), Error);
  AugmentedBatches batches(c, 1);
  Dataset small;
  small.count = 1;
  small.features = 20;
  small.bytes.assign(20, 0);
  small.labels = {1};
  EXPECT_THROW(batches.start_epoch(small, 0, {0}, 0, 1), Error);
}

// ---- With the trainer ------------------------------------------------------------------------

namespace {

struct TrainedRun {
  std::vector<Matrix<float>> params;
  std::vector<double> losses;
};

TrainConfig small_config() {
  TrainConfig c;
  c.epochs = 3;
  c.batch_size = 32;
  c.optimizer.name = "momentum";
  c.schedule.lr = 0.05;
  return c;
}

NetworkSpec small_spec() {
  NetworkSpec spec;
  spec.sizes = {784, 16, 10};
  spec.activations = {Activation::relu};
  spec.dropout = {0.2};
  spec.validate(784, 10);
  return spec;
}

TrainedRun train(const Dataset& data, const AugmentConfig* augment, int workers = 1) {
  std::mt19937_64 rng(9);
  Network<float> network(small_spec(), &rng);
  initialize(network, InitScheme::he_normal, rng);
  Trainer<float> trainer(network, small_config(), rng);
  std::unique_ptr<AugmentedBatches> source;
  if (augment) {
    source = std::make_unique<AugmentedBatches>(*augment, workers);
    trainer.set_batch_source(source.get());
  }
  TrainedRun run;
  for (const auto& m : trainer.fit(data, nullptr, nullptr)) run.losses.push_back(m.train_loss);
  for (const auto& p : network.params()) run.params.push_back(*p.value);
  return run;
}

}  // namespace

TEST(AugmentTraining, ZeroStrengthSourceTrainsExactlyAsTheDataset) {
  const Dataset data = noise_images(150, 7);
  AugmentConfig zero;
  const TrainedRun plain = train(data, nullptr), through_source = train(data, &zero);
  EXPECT_EQ(plain.losses, through_source.losses);
  for (std::size_t i = 0; i < plain.params.size(); ++i) EXPECT_EQ(plain.params[i], through_source.params[i]);
  const AugmentConfig c = strong();
  const TrainedRun augmented = train(data, &c);
  EXPECT_NE(plain.losses, augmented.losses);
  const TrainedRun more_workers = train(data, &c, 3);
  EXPECT_EQ(augmented.losses, more_workers.losses) << "the worker count changes no number";
  for (std::size_t i = 0; i < plain.params.size(); ++i) EXPECT_EQ(augmented.params[i], more_workers.params[i]);
}

TEST(AugmentTraining, StoppedMidEpochAndResumedFromACheckpointIsTheSameRun) {
  const Dataset data = noise_images(150, 8);  // 5 steps per epoch, the last one short
  const AugmentConfig c = strong();
  const TrainedRun straight = train(data, &c);
  const std::string file = ::testing::TempDir() + "augment_resume.ckpt";
  for (long long stop_step : {2, 5, 12}) {
    {
      std::mt19937_64 rng(9);
      Network<float> network(small_spec(), &rng);
      initialize(network, InitScheme::he_normal, rng);
      Trainer<float> trainer(network, small_config(), rng);
      AugmentedBatches source(c, 2);
      trainer.set_batch_source(&source);
      std::atomic<bool> stop{false};
      trainer.set_stop_flag(&stop);
      trainer.fit(data, nullptr, nullptr, {}, [&](std::size_t, std::size_t, double) {
        if (trainer.global_step() == stop_step) stop = true;
      });
      ASSERT_TRUE(trainer.interrupted());
      save_checkpoint(file, network, trainer.state(), "{}");
    }
    const Checkpoint checkpoint = read_checkpoint(file);
    std::mt19937_64 rng(1);
    Network<float> network(checkpoint.model.spec, &rng);
    load_params(checkpoint.model, network);
    Trainer<float> trainer(network, small_config(), rng);
    trainer.restore(checkpoint.trainer);
    AugmentedBatches source(c, 1);
    trainer.set_batch_source(&source);
    std::vector<double> losses;
    for (const auto& m : trainer.fit(data, nullptr, nullptr)) losses.push_back(m.train_loss);
    EXPECT_EQ(losses, straight.losses) << "stopped at step " << stop_step;
    for (std::size_t i = 0; i < straight.params.size(); ++i)
      EXPECT_EQ(*network.params()[i].value, straight.params[i]) << "stopped at step " << stop_step;
  }
}

// ---- Through the command line ----------------------------------------------------------------

// --preset best on a small slice of MNIST with a small network: the augmentation is on, and a
// run resumed from its checkpoint (whose run configuration must carry the strengths) ends with
// the same model file as the run left alone. A constant schedule, so --epochs may grow.
TEST(AugmentCli, PresetBestAugmentsAndItsCheckpointKeepsTheStrengths) {
  namespace fs = std::filesystem;
  const std::string data = fs::absolute(resolve_data_dir("")).string();
  if (!mnist_present(data)) GTEST_SKIP() << "MNIST not in " << data;
  const backprop::testing::TempDir tmp("augment");
  const fs::path& dir = tmp.path;
  const auto train = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"train", "--preset", "best", "--layers", "784,24,10", "--schedule", "constant",
                                     "--train-limit", "1000", "--val-split", "200", "--seed", "3", "--quiet",
                                     "--no-fetch", "--data", data, "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    return backprop::testing::run_cli(args, dir);
  };
  const auto straight = train("straight.bpm", {"--epochs", "3"});
  ASSERT_EQ(straight.exit_code, 0) << straight.err;
  EXPECT_NE(straight.out.find("augmentation: shift 2 px"), std::string::npos) << straight.out;
  const auto first = train("resumed.bpm", {"--epochs", "1", "--checkpoint", "run.ckpt"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto resumed = backprop::testing::run_cli(
      {"train", "--resume", "run.ckpt", "--epochs", "3", "--augment-threads", "2", "--no-fetch"}, dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("augmentation: shift 2 px"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("2 worker threads"), std::string::npos) << resumed.out;
  EXPECT_TRUE(backprop::testing::read_text(dir / "straight.bpm") == backprop::testing::read_text(dir / "resumed.bpm"))
      << "the resumed run's model differs";
}
