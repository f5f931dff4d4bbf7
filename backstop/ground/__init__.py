"""The ground layer: what every other layer stands on and that stands on nothing of backstop's.

Resource type tokens (`tokens`), the seed documents' numbers (`seeds`), the resource model every rule judges
(`resources`), errors and exit codes (`errors`), how documents are hashed and times written (`documents`),
output files and the project directory (`files`), and the collector pause (`memory`).
"""
