import FlareTools
