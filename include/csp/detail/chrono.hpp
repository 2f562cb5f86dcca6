// chrono.hpp — std::chrono's clocks, durations, time points and literals,
// without the chrono I/O. In C++20 libstdc++'s <chrono> also includes
// <sstream> for operator<< on durations (36,000 of its 46,000 preprocessed
// lines, a fifth of <csp/go.hpp>'s); the types csp's headers use all live
// in <bits/chrono.h>, which <chrono> itself includes first. Other standard
// libraries get <chrono>. A program that prints durations includes
// <chrono> itself, as it must anyway.
#pragma once

#include <version>  // defines __GLIBCXX__ with libstdc++

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <chrono>
#endif
