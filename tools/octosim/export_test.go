package octosim

// ProcessCPU is processCPU, for the benchmarks of package octosim_test.
var ProcessCPU = processCPU
