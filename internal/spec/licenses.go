package spec

// CommonLicenses are the SPDX ids whose full text Debian ships in
// /usr/share/common-licenses (base-files), mapped to that file name. A
// package under another license quotes its text (license_file).
var CommonLicenses = map[string]string{
	"Apache-2.0": "Apache-2.0", "GPL-2.0-only": "GPL-2", "GPL-2.0-or-later": "GPL-2",
	"GPL-3.0-only": "GPL-3", "GPL-3.0-or-later": "GPL-3", "LGPL-2.1-only": "LGPL-2.1",
	"LGPL-2.1-or-later": "LGPL-2.1", "LGPL-3.0-only": "LGPL-3", "LGPL-3.0-or-later": "LGPL-3",
	"MPL-2.0": "MPL-2.0", "CC0-1.0": "CC0-1.0", "Artistic-1.0": "Artistic",
}
