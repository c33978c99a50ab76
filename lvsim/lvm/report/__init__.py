"""The lvs/vgs/pvs report engine: field definitions, row building, selection and rendering."""
