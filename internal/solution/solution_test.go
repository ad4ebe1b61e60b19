package solution

import (
	"archive/zip"
	"bytes"
	"strconv"
	"strings"
	"testing"
)

func TestBuildReadRoundTrip(t *testing.T) {
	pkg, err := Build(Package{
		UniqueName: "MicrosoftDynamicsNavIntegration", FriendlyName: "Dynamics 365 Business Central Integration",
		Version: "25.0.1.0", Managed: true, Publisher: "dynamicsnav",
		Dependencies: []string{"bcbi_CdsBaseIntegration (1.0.0.0)", "bcbi_CdsBaseIntegration (1.0.0.0)"},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Read(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if m.UniqueName != "MicrosoftDynamicsNavIntegration" || m.Version.String() != "25.0.1.0" || !m.Managed ||
		m.PublisherUniqueName != "dynamicsnav" || m.FriendlyName != "Dynamics 365 Business Central Integration" {
		t.Errorf("manifest = %+v", m)
	}
	if len(m.Dependencies) != 1 || m.Dependencies[0] != (Dependency{SolutionUniqueName: "bcbi_CdsBaseIntegration", Version: "1.0.0.0"}) {
		t.Errorf("dependencies = %+v", m.Dependencies)
	}
	zr, _ := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "[Content_Types].xml,solution.xml,customizations.xml" {
		t.Errorf("package files = %s", got)
	}
}

func TestReadRefusesBrokenPackages(t *testing.T) {
	zipWith := func(name, body string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(body))
		_ = zw.Close()
		return buf.Bytes()
	}
	// zipOf writes files in order; a body of "\x00*N" is N zero bytes.
	zipOf := func(files ...[2]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, f := range files {
			w, _ := zw.Create(f[0])
			if n, err := strconv.Atoi(strings.TrimPrefix(f[1], "\x00*")); err == nil && strings.HasPrefix(f[1], "\x00*") {
				chunk := make([]byte, 1<<20)
				for ; n > 0; n -= len(chunk) {
					_, _ = w.Write(chunk[:min(n, len(chunk))])
				}
				continue
			}
			_, _ = w.Write([]byte(f[1]))
		}
		_ = zw.Close()
		return buf.Bytes()
	}
	valid := `<ImportExportXml><SolutionManifest><UniqueName>x</UniqueName><Version>1.0.0.0</Version></SolutionManifest></ImportExportXml>`
	manyFiles := [][2]string{{"solution.xml", valid}}
	for i := 0; i < MaxEntries; i++ {
		manyFiles = append(manyFiles, [2]string{"WebResources/r" + strconv.Itoa(i), ""})
	}
	// A valid manifest padded past MaxManifestSize with white space inside the root.
	bigManifest := `<ImportExportXml>` + strings.Repeat(" ", MaxManifestSize) + `<SolutionManifest><UniqueName>x</UniqueName><Version>1.0.0.0</Version></SolutionManifest></ImportExportXml>`
	manifest := func(inner string) []byte {
		return zipWith("solution.xml", `<ImportExportXml><SolutionManifest>`+inner+`</SolutionManifest></ImportExportXml>`)
	}
	cases := []struct {
		name string
		pkg  []byte
		want string
	}{
		{"not a zip", []byte("PK? no"), "not a zip file"},
		{"empty", nil, "not a zip file"},
		{"no solution.xml", zipWith("customizations.xml", "<x/>"), "no solution.xml"},
		{"malformed xml", zipWith("solution.xml", "<ImportExportXml><SolutionManifest>"), "not a solution manifest"},
		{"wrong root", zipWith("solution.xml", "<Other/>"), "not a solution manifest"},
		{"no unique name", manifest("<Version>1.0.0.0</Version>"), "no SolutionManifest/UniqueName"},
		{"bad version", manifest("<UniqueName>x</UniqueName><Version>1.x</Version>"), "not a number"},
		{"one-part version", manifest("<UniqueName>x</UniqueName><Version>1</Version>"), "two to four"},
		{"bad managed flag", manifest("<UniqueName>x</UniqueName><Version>1.0</Version><Managed>maybe</Managed>"), "Managed"},
		{"too many files", zipOf(manyFiles...), "more than 5000"},
		{"zip bomb", zipOf([2]string{"solution.xml", valid}, [2]string{"customizations.xml", "\x00*" + strconv.Itoa(MaxUncompressedSize+1)}), "unpacks to more than"},
		{"bombs adding up", zipOf([2]string{"a", "\x00*" + strconv.Itoa(MaxUncompressedSize/2+1)}, [2]string{"solution.xml", valid}, [2]string{"b", "\x00*" + strconv.Itoa(MaxUncompressedSize/2+1)}), "unpacks to more than"},
		{"large solution.xml", zipOf([2]string{"solution.xml", bigManifest}), "larger than"},
		{"two solution.xml", zipOf([2]string{"solution.xml", valid}, [2]string{"Solution.XML", valid}), "more than one solution.xml"},
		{"solution.xml spelled as a path", zipOf([2]string{"solution.xml", valid}, [2]string{"./solution.xml", valid}), "more than one solution.xml"},
		{"solution.xml with a backslash", zipOf([2]string{`\solution.xml`, valid}, [2]string{"solution.xml", valid}), "more than one solution.xml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.pkg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"9.10.0.0", "9.9.0.0", 1},
		{"9.2", "9.2.0.0", 0},
		{"1.0.0.1", "1.0.0.2", -1},
		{"25.0.1.0", "9.2.0.0", 1},
	}
	for _, tc := range cases {
		a, err := ParseVersion(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseVersion(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Compare(b); got != tc.want {
			t.Errorf("%s vs %s = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"", "1", "1.2.3.4.5", "a.b", "1.-2", "1.+2", "1..2"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
}

// FuzzRead checks that Read never panics on any input and that what Build writes, Read
// reads back.
func FuzzRead(f *testing.F) {
	good, _ := Build(Package{UniqueName: "MicrosoftDynamicsNavIntegration", Version: "1.0.0.0"})
	f.Add(good, "x", "1.2.3.4")
	f.Add([]byte("PK\x03\x04"), "a b", "9.10")
	f.Add([]byte{}, "<&>", "0.0.0.0")
	f.Fuzz(func(t *testing.T, data []byte, name, version string) {
		_, _ = Read(data)
		pkg, err := Build(Package{UniqueName: name, Version: version})
		if err != nil {
			return
		}
		m, err := Read(pkg)
		if strings.TrimSpace(name) == "" || !validXMLText(name) {
			return
		}
		if err != nil {
			t.Fatalf("Read(Build(%q, %q)): %v", name, version, err)
		}
		want, _ := ParseVersion(version)
		if m.UniqueName != strings.TrimSpace(name) || m.Version != want {
			t.Fatalf("round trip of %q %q gave %q %s", name, version, m.UniqueName, m.Version)
		}
	})
}

// validXMLText reports whether s survives XML escaping unchanged in meaning: XML cannot
// carry most control characters.
func validXMLText(s string) bool {
	for _, r := range s {
		if r == 0xFFFD || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') {
			return false
		}
	}
	return true
}
