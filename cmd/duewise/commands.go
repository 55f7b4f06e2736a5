package main

import "github.com/spf13/cobra"

// commandSet is the list of subcommands, one constructor each. Keep it
// sorted by name.
var commandSet = []func(g *globals) *cobra.Command{
	newAttributesCmd,
	newBenchmarkCmd,
	newDatasetsCmd,
	newEvaluateCmd,
	newFeaturesCmd,
	newGenerateCmd,
	newIngestCmd,
	newInitCmd,
	newKeysCmd,
	newModelsCmd,
	newReportCmd,
	newForecastCmd,
	newSQLCmd,
	newScoreCmd,
	newServeCmd,
	newSimulateCmd,
	newTrainCmd,
	newVersionCmd,
}
