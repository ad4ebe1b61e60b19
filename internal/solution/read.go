package solution

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Bounds of a solution package, so a hostile one (a zip bomb, a directory of millions
// of entries) cannot exhaust the operator's memory or be passed on to Dataverse. The
// package comes from a ConfigMap, at most 1 MiB; the real Business Central integration
// solution is a few MB zipped at most, its XML compressing some ten to twenty times.
const (
	// MaxEntries bounds the files in the zip: a real package has one per web resource,
	// workflow, report or plug-in assembly, a few hundred at most.
	MaxEntries = 5000
	// MaxUncompressedSize bounds the sum of the entries' uncompressed sizes: far above
	// what 1 MiB of zipped XML holds, far below what a bomb declares.
	MaxUncompressedSize = 128 << 20
	// MaxManifestSize bounds solution.xml, which lists the root components and missing
	// dependencies: tens of KiB for a real solution.
	MaxManifestSize = 4 << 20
)

// Manifest is what solution.xml says about a package.
type Manifest struct {
	UniqueName          string
	FriendlyName        string
	Version             Version
	Managed             bool
	PublisherUniqueName string
	// Dependencies are the solutions the package requires, from its MissingDependencies.
	Dependencies []Dependency
}

// Dependency is a solution a package requires.
type Dependency struct {
	SolutionUniqueName string
	// Version is the minimum version, when the package says one.
	Version string
}

// solutionXML is the part of solution.xml the operator reads. A package lists what it
// requires from outside itself as
//
//	<MissingDependencies>
//	  <MissingDependency>
//	    <Required type="1" schemaName="account" solution="bcbi_CdsBaseIntegration (1.0.0.0)" />
//	    <Dependent type="2" schemaName="nav_connection" />
//	  </MissingDependency>
//	</MissingDependencies>
type solutionXML struct {
	XMLName  xml.Name `xml:"ImportExportXml"`
	Manifest struct {
		UniqueName     string `xml:"UniqueName"`
		LocalizedNames struct {
			Names []struct {
				Description string `xml:"description,attr"`
			} `xml:"LocalizedName"`
		} `xml:"LocalizedNames"`
		Version   string `xml:"Version"`
		Managed   string `xml:"Managed"`
		Publisher struct {
			UniqueName string `xml:"UniqueName"`
		} `xml:"Publisher"`
		MissingDependencies struct {
			Items []struct {
				Required struct {
					Solution string `xml:"solution,attr"`
				} `xml:"Required"`
			} `xml:"MissingDependency"`
		} `xml:"MissingDependencies"`
	} `xml:"SolutionManifest"`
}

// Read returns the manifest of a solution package.
func Read(pkg []byte) (Manifest, error) {
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return Manifest{}, fmt.Errorf("the solution package is not a zip file: %w", err)
	}
	f, err := findManifest(zr.File)
	if err != nil {
		return Manifest{}, err
	}
	rc, err := f.Open()
	if err != nil {
		return Manifest{}, fmt.Errorf("opening solution.xml: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxManifestSize+1))
	if err != nil {
		return Manifest{}, fmt.Errorf("reading solution.xml: %w", err)
	}
	if len(data) > MaxManifestSize {
		return Manifest{}, fmt.Errorf("solution.xml is larger than %d bytes", MaxManifestSize)
	}
	return parseManifest(data)
}

// findManifest checks the package's bounds and returns its one solution.xml. Two are
// refused: this reader and Dataverse's could each pick a different one.
func findManifest(files []*zip.File) (*zip.File, error) {
	if len(files) > MaxEntries {
		return nil, fmt.Errorf("the solution package has %d files, more than %d", len(files), MaxEntries)
	}
	var total uint64
	var manifest *zip.File
	for _, zf := range files {
		total += zf.UncompressedSize64
		if zf.UncompressedSize64 > MaxUncompressedSize || total > MaxUncompressedSize {
			return nil, fmt.Errorf("the solution package unpacks to more than %d bytes", MaxUncompressedSize)
		}
		if !isManifestName(zf.Name) {
			continue
		}
		if manifest != nil {
			return nil, errors.New("the solution package has more than one solution.xml")
		}
		manifest = zf
	}
	if manifest == nil {
		return nil, errors.New("the solution package has no solution.xml at its top level")
	}
	if manifest.UncompressedSize64 > MaxManifestSize {
		return nil, fmt.Errorf("solution.xml is larger than %d bytes", MaxManifestSize)
	}
	return manifest, nil
}

// isManifestName reports a top-level solution.xml, however the zip spells the path
// (case, a leading "./" or "/", backslashes).
func isManifestName(name string) bool {
	name = strings.ReplaceAll(name, `\`, "/")
	for {
		trimmed := strings.TrimPrefix(strings.TrimPrefix(name, "./"), "/")
		if trimmed == name {
			break
		}
		name = trimmed
	}
	return strings.EqualFold(name, "solution.xml")
}

func parseManifest(data []byte) (Manifest, error) {
	var doc solutionXML
	if err := xml.Unmarshal(data, &doc); err != nil {
		return Manifest{}, fmt.Errorf("solution.xml is not a solution manifest: %w", err)
	}
	sm := doc.Manifest
	m := Manifest{
		UniqueName:          strings.TrimSpace(sm.UniqueName),
		PublisherUniqueName: strings.TrimSpace(sm.Publisher.UniqueName),
	}
	if m.UniqueName == "" {
		return Manifest{}, errors.New("solution.xml has no SolutionManifest/UniqueName")
	}
	if len(sm.LocalizedNames.Names) > 0 {
		m.FriendlyName = sm.LocalizedNames.Names[0].Description
	}
	v, err := ParseVersion(sm.Version)
	if err != nil {
		return Manifest{}, fmt.Errorf("solution.xml SolutionManifest/Version: %w", err)
	}
	m.Version = v
	switch strings.TrimSpace(sm.Managed) {
	case "1", "true":
		m.Managed = true
	case "0", "false", "":
	default:
		return Manifest{}, fmt.Errorf("solution.xml SolutionManifest/Managed is %q, want 0 or 1", sm.Managed)
	}
	seen := map[string]bool{}
	for _, item := range sm.MissingDependencies.Items {
		dep := parseDependency(item.Required.Solution)
		if dep.SolutionUniqueName == "" || seen[dep.SolutionUniqueName] {
			continue
		}
		seen[dep.SolutionUniqueName] = true
		m.Dependencies = append(m.Dependencies, dep)
	}
	return m, nil
}

// parseDependency reads "name (1.0.0.0)" or "name".
func parseDependency(s string) Dependency {
	s = strings.TrimSpace(s)
	name, rest, found := strings.Cut(s, " (")
	if !found {
		return Dependency{SolutionUniqueName: s}
	}
	return Dependency{SolutionUniqueName: name, Version: strings.TrimSuffix(rest, ")")}
}
