describe("x", function() it("y", function() assert.is_true(true) end) end)
