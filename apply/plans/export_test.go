package plans

// ReadPlanMax is ReadPlan with the size limit max, for the fuzz test.
var ReadPlanMax = readPlan
