package apply

import (
	"fmt"
	"strconv"
	"strings"
)

// majorMinor parses the major and minor numbers of an Octopus version
// ("2025.2.1234", "2020.5.0-rc0001", "2024.1").
func majorMinor(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimSpace(v), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(leadingDigits(parts[1]))
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return 0, 0, false
	}
	return major, minor, true
}

func leadingDigits(s string) string {
	for i, r := range s {
		if r < '0' || r > '9' {
			return s[:i]
		}
	}
	return s
}

// checkVersion refuses a destination whose Octopus major.minor differs from
// the bundle's source by more than one minor version, or whose major
// differs, unless allow is set ("Avoid mismatched versions"). A version that
// cannot be read is refused too: the check cannot be made.
func checkVersion(source, dest string, allow bool) error {
	if allow {
		return nil
	}
	sMaj, sMin, ok1 := majorMinor(source)
	dMaj, dMin, ok2 := majorMinor(dest)
	switch {
	case !ok1:
		return fmt.Errorf("the bundle does not record a readable source Octopus version (%q); use --allow-version-skew to apply anyway", source)
	case !ok2:
		return fmt.Errorf("the destination reports an unreadable Octopus version (%q); use --allow-version-skew to apply anyway", dest)
	case sMaj != dMaj:
		return fmt.Errorf("version skew: the bundle comes from Octopus %s and the destination runs %s (different major version); use --allow-version-skew to apply anyway", source, dest)
	case sMin-dMin > 1 || dMin-sMin > 1:
		return fmt.Errorf("version skew: the bundle comes from Octopus %s and the destination runs %s (more than one minor version apart); use --allow-version-skew to apply anyway", source, dest)
	}
	return nil
}
