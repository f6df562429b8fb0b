"""Notebook integration: how servers show themselves (:mod:`.display`) and
the IPython magics (:mod:`.magics`). Nothing else in nbws imports this
package at module level; :meth:`nbws.Server._repr_mimebundle_` and
``%load_ext nbws`` load it when a notebook asks.
"""
